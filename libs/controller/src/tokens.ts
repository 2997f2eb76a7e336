/** Issuing connection tokens: the route record for the proxy and a `token.issued` event (fingerprint only). */
import type { TokenRecord } from '@jetplane/protocol';
import { tokenFingerprint, type EventPublisher, type TokenStore } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';

export interface TokenIssuerDeps {
  tokens: Pick<TokenStore, 'issue'>;
  events: Pick<EventPublisher, 'announce'>;
  log: Logger;
}

/**
 * Store `token`'s route, then announce it. The route must be stored before the connect answer goes
 * out (a token works at the proxy at once); the event is announced in the background (retried).
 * The event never carries the token, the secret or auth.
 */
export async function issueToken(deps: TokenIssuerDeps, token: string, record: TokenRecord): Promise<void> {
  const hash = await deps.tokens.issue(token, record);
  // On the next tick, i.e. once the promise chain that answers the caller has run: encoding and sending
  // the event need not delay the answer. The announcements of all connects answered in one turn still
  // go out in one write.
  process.nextTick(() => announceIssued(deps, hash, record));
}

function announceIssued(deps: TokenIssuerDeps, hash: string, record: TokenRecord): void {
  const fingerprint = tokenFingerprint(hash);
  deps.events.announce(
    {
      type: 'token.issued',
      cluster: record.cluster,
      time: record.issued_at,
      backend_id: record.backend_id,
      fingerprint,
      static: record.static,
      user: record.user,
    },
    `token.issued:${hash}`,
    (err) => deps.log.warn({ err, backend_id: record.backend_id, fingerprint }, 'token.issued event not published'),
  );
}
