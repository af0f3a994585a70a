// A local HTTPS test server's life: listen on a free loopback port, and close it with every
// connection (kept-alive and watch connections included). Shared by the client unit tests.
import type https from 'node:https';
import type { AddressInfo } from 'node:net';

/** Starts `server` on 127.0.0.1 and resolves with its https URL. */
export async function listenLocal(server: https.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server` and every connection it still holds. */
export async function closeLocal(server: https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}
