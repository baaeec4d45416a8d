// The OpenID Provider of Almanach's account page tests: panva's
// oidc-provider (OpenID Certified), with one confidential client, PKCE
// required, its development login pages (any login name, any password;
// the account's email is NAME@ac-lyon.fr), and RS256 ID tokens.
//
// Environment: PORT (listen on 127.0.0.1:PORT, issuer http://localhost:PORT),
// CLIENT_ID, CLIENT_SECRET, REDIRECT_URI. Prints "ready ISSUER" once listening.
//
// For the refusal tests, POST /__tamper?mode=M makes the token endpoint's
// next answers carry an ID token rewritten by this harness after the
// provider issued it: `aud` (another audience, re-signed with the
// provider's own key), `expired` (exp and iat an hour in the past,
// re-signed with the provider's key), `forged` (signed with another key),
// `none` (untouched). The provider itself never issues such tokens; the
// relying party must refuse them all the same.
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://localhost:${port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'almanach-test', alg: 'RS256', use: 'sig' };
const { privateKey: otherKey } = await jose.generateKeyPair('RS256');

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username'] },
  // The ID token carries the claims of the granted scopes (not only the
  // userinfo endpoint).
  conformIdTokenClaims: false,
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return { sub: id, email: `${id}@ac-lyon.fr`, email_verified: true, preferred_username: id };
    },
  }),
  cookies: { keys: ['almanach-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});

let tamper = 'none';
provider.use(async (ctx, next) => {
  if (ctx.path === '/__tamper' && ctx.method === 'POST') {
    tamper = ctx.query.mode;
    ctx.body = `tamper ${tamper}\n`;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.method === 'POST' && tamper !== 'none' && ctx.body && ctx.body.id_token) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    const now = Math.floor(Date.now() / 1000);
    let key = privateKey;
    if (tamper === 'aud') claims.aud = 'another-client';
    if (tamper === 'expired') { claims.iat = now - 7200; claims.exp = now - 3600; }
    if (tamper === 'forged') key = otherKey;
    ctx.body = { ...ctx.body, id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'almanach-test' }).sign(key) };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
