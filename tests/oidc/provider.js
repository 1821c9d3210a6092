// A real OpenID Connect provider for the tests: the certified `oidc-provider` package, on a
// local port, with one confidential client (ours) and the people in a JSON file.
//
//   node provider.js <settings.json>
//
// settings.json: {"port", "issuer", "client": {"client_id", "client_secret", "redirect_uris",
// "post_logout_redirect_uris"}, "accounts_file"}. The accounts file maps a login to the
// claims of that person, and is read again at every sign-in, so a test can change someone's
// groups between two sign-ins. A person may carry "tamper": the provider then re-signs the ID
// token it issues them, with its own key, after changing one thing ("expired", "audience",
// "issuer", "nonce") or with a key it never published ("signature"): the defects a relying
// party must refuse, which a correct provider never produces by itself.
//
// Sign-in is oidc-provider's own development login form (any password); consent is granted
// without asking, as an organisation's provider does for its own applications.

import { readFileSync } from 'node:fs';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const readAccounts = () => JSON.parse(readFileSync(settings.accounts_file, 'utf8'));

const signing = await jose.generateKeyPair('RS256', { extractable: true });
const stranger = await jose.generateKeyPair('RS256', { extractable: true });
const privateJwk = { ...(await jose.exportJWK(signing.privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const provider = new Provider(settings.issuer, {
  clients: [{
    ...settings.client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [privateJwk] },
  cookies: { keys: ['test-cookie-key-not-secret'] },
  pkce: { required: () => true },
  // the claims go in the ID token itself, as Entra ID puts them
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'oid', 'tid', 'groups', 'preferred_username', 'xms_edov'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const account = readAccounts()[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>Provider error</title><h1>${out.error}</h1><p>${out.error_description}</p>`;
  },
});

async function resign(idToken, tamper) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = signing.privateKey;
  if (tamper === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (tamper === 'audience') claims.aud = 'another-application';
  if (tamper === 'issuer') claims.iss = 'https://login.elsewhere.example/v2.0';
  if (tamper === 'nonce') claims.nonce = 'a-nonce-from-an-earlier-sign-in';
  if (tamper === 'signature') key = stranger.privateKey;
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(key);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
    const { sub } = jose.decodeJwt(ctx.body.id_token);
    const tamper = readAccounts()[sub]?.tamper;
    if (tamper) ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token, tamper) };
  }
});

provider.listen(settings.port, '127.0.0.1', () => {
  console.log(`listening on ${settings.port}`);
});
