// Test preload (node --import): the Nth server that asks for an ephemeral port (port 0) gets
// DEMO_TEST_TAKEN_PORT instead, a port the test holds, so its listen fails with a real EADDRINUSE.
import net from 'node:net';

const takenPort = Number(process.env.DEMO_TEST_TAKEN_PORT);
const nth = Number(process.env.DEMO_TEST_TAKEN_NTH);
const listen = net.Server.prototype.listen;
let ephemeral = 0;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (first === 0 && ++ephemeral === nth) args[0] = takenPort;
  else if (typeof first === 'object' && first !== null && first.port === 0 && ++ephemeral === nth) {
    args[0] = { ...first, port: takenPort };
  }
  return listen.apply(this, args);
};
