// bench/http/ws_echo_server.cjs: the npm `ws` peer of bench/http/run.sh, a WebSocket echo
// server at /ws: every text or binary message goes back unchanged, as one message of the same
// type. Defaults as ws ships them (no permessage-deflate on the server, UTF-8 validation on).
// run.sh installs ws (package.json here, pinned) into build/bench-http and passes NODE_PATH.
//
//   NODE_PATH=build/bench-http/node_modules node ws_echo_server.cjs PORT
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node ws_echo_server.cjs PORT');
  process.exit(2);
}
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws' });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => console.log('listening ' + port));
process.on('SIGTERM', () => process.exit(0));
