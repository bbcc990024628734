/**
 * The rendezvous port on the main machine: checked free before any worker starts (a clear
 * error naming it, instead of a worker failing deep in gRPC), or picked free for port 0.
 */
import { OperationalError, UsageError } from '@ner-launch/common';
import { createServer } from 'node:net';

function listenOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/** Throws an error naming host:port when something already listens there. */
export async function ensurePortFree(host: string, port: number): Promise<void> {
  try {
    await listenOnce(host, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new OperationalError(
        `main_process_port ${port} is already in use on ${host} (another job or a stale worker?); free it, choose another with --main_process_port, or pass --main_process_port 0 to pick a free one`,
        { cause: error },
      );
    if (code === 'EADDRNOTAVAIL')
      throw new UsageError(
        `main_process_ip ${host} is not an address of this machine, but machine_rank 0 hosts the rendezvous there`,
        { cause: error },
      );
    throw new OperationalError(`cannot listen on ${host}:${port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A port free on `host` right now (the kernel's pick). */
export function pickFreePort(host: string): Promise<number> {
  return listenOnce(host, 0);
}
