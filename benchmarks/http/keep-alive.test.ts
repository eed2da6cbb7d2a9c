import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchange, openSockets } from './keep-alive.js';

describe('exchange (the profiling tools keep-alive client)', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // Answers its first request on a connection, then closes the connection idle for 50 ms (as
    // Node's keep-alive timeout does after 5 s), and closes it unanswered on `/drop`.
    server = createServer((req, res) => {
      if (req.headers.authorization === 'Bearer drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    server.keepAliveTimeout = 50;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('settles with the 200 answer', async () => {
    const [socket] = await openSockets(port, 1);
    sockets.push(socket as Socket);
    await expect(exchange(socket as Socket, port, 'Bearer a')).resolves.toBeUndefined();
  });

  it('fails, not waits for ever, on a connection the server closed without answering', async () => {
    const [socket] = await openSockets(port, 1);
    sockets.push(socket as Socket);
    await expect(exchange(socket as Socket, port, 'Bearer drop')).rejects.toThrow(
      'the server closed the connection before answering',
    );
  });

  it('fails, not waits for ever, on a keep-alive connection the server timed out', async () => {
    const [socket] = await openSockets(port, 1);
    sockets.push(socket as Socket);
    await exchange(socket as Socket, port, 'Bearer a');
    await new Promise<void>((resolve) => (socket as Socket).once('close', () => resolve()));
    await expect(exchange(socket as Socket, port, 'Bearer a')).rejects.toThrow(
      'the server closed the connection before answering',
    );
  });
});
