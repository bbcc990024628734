/** The address this machine's workers listen on when --local_addr is not given. */
import { OperationalError } from '@ner-launch/common';
import { createSocket } from 'node:dgram';

/**
 * The local address the kernel would use to reach `remote` (a connected UDP socket sends
 * nothing; it only resolves the route), so workers advertise an address peers can reach.
 */
export function routeSourceAddress(remote: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const family = remote.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket(family);
    socket.once('error', (error) => {
      socket.close();
      reject(
        new OperationalError(
          `no route from this machine to main_process_ip ${remote}: ${error.message}`,
        ),
      );
    });
    socket.connect(port || 9, remote, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}
