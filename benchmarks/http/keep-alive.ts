/**
 * Raw keep-alive HTTP/1.1 exchanges over loopback for the profiling tools (`http/profile.ts`,
 * `http/paired.ts`): one GET at a time per socket, so the client costs little next to the server.
 */
import { connect, type Socket } from 'node:net';

/** `count` keep-alive sockets to 127.0.0.1:`port`, Nagle off. */
export function openSockets(port: number, count: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
          socket.setNoDelay(true);
        }),
    ),
  );
}

const CLOSED = 'the server closed the connection before answering';

/** One `GET /orders` with `authorization` and its response: status 200 and a Content-Length body, as every app sends. */
export function exchange(socket: Socket, port: number, authorization: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Closed already (the server timed the idle connection out): no 'close' is coming to wait for.
    if (socket.destroyed || !socket.writable) {
      reject(new Error(CLOSED));
      return;
    }
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      const headerEnd = received.indexOf('\r\n\r\n');
      if (headerEnd === -1) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received.slice(0, headerEnd))?.[1]);
      if (received.length < headerEnd + 4 + length) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.off('close', onClose);
      if (!received.startsWith('HTTP/1.1 200')) reject(new Error(received.slice(0, 300)));
      else resolve();
    };
    // A socket the server closed answers nothing more: fail rather than wait for ever.
    const onClose = (): void => reject(new Error(CLOSED));
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', onClose);
    socket.write(
      `GET /orders HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${authorization}\r\n\r\n`,
    );
  });
}
