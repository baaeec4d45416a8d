-- CardDAV (RFC 6352): what addressbook-query narrows candidates with.
--   search_text  the vCard's textual properties, one `NAME:value` line each,
--                folded with i;unicode-casemap (RFC 5051); a text-match can
--                only succeed on an object whose search_text contains its
--                folded needle. NULL for objects that are not vCards.
ALTER TABLE objects ADD COLUMN search_text TEXT;
