//! Read connections kept out of the pool between statements.
//!
//! sqlx pings every connection it gets back (`Pool` release: a round trip to
//! PostgreSQL, a hop through the connection's worker thread with SQLite),
//! which for the one-statement reads of the common requests (GET, polling,
//! authentication, multiget) costs about as much as the statement itself.
//! The store's hot reads therefore take a connection from a small stack kept
//! here and put it back themselves — only after their statement completed
//! without error. A connection whose statement failed, or whose request was
//! cancelled mid-statement, is dropped to the pool as usual (and pinged,
//! rolled back or closed there).
//!
//! The stack holds at most `max` connections, fewer than the pool's size, so
//! reads and writes through the pool always find connections: kept ones are
//! idle or in use by one statement, never waited on.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use sqlx::pool::{Pool, PoolConnection};
use sqlx::Database;

pub struct KeptConnections<DB: Database> {
    stack: Mutex<Vec<PoolConnection<DB>>>,
    max: usize,
}

impl<DB: Database> KeptConnections<DB> {
    /// At most `max` connections kept (0: none, every read uses the pool).
    pub fn new(max: usize) -> Self {
        KeptConnections { stack: Mutex::new(Vec::with_capacity(max)), max }
    }

    /// Connections kept and not in use.
    pub fn idle(&self) -> usize {
        self.stack.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// A kept connection, or one from `pool` when none is free.
    pub async fn get(&self, pool: &Pool<DB>) -> Result<Kept<'_, DB>, sqlx::Error> {
        let kept = self.stack.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match kept {
            Some(conn) => conn,
            None => pool.acquire().await?,
        };
        Ok(Kept { conn: Some(conn), home: self, reusable: false })
    }
}

/// A connection for one read; see [`Kept::done`].
pub struct Kept<'a, DB: Database> {
    conn: Option<PoolConnection<DB>>,
    home: &'a KeptConnections<DB>,
    reusable: bool,
}

impl<DB: Database> Kept<'_, DB> {
    /// Finish with the connection: kept for the next read when `result` is
    /// a success (the statement ran to completion), else given back to the
    /// pool.
    pub fn done<T, E>(mut self, result: Result<T, E>) -> Result<T, E> {
        self.reusable = result.is_ok();
        result
    }
}

impl<DB: Database> Deref for Kept<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        self.conn.as_ref().expect("connection present until dropped")
    }
}

impl<DB: Database> DerefMut for Kept<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn.as_mut().expect("connection present until dropped")
    }
}

impl<DB: Database> Drop for Kept<'_, DB> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.reusable {
            let mut stack = self.home.stack.lock().unwrap_or_else(|e| e.into_inner());
            if stack.len() < self.home.max {
                stack.push(conn);
                return;
            }
        }
        drop(conn);
    }
}
