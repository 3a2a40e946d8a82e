// The SockJS bridge from Node without WebSocket: the official client limited to one fallback transport
// (xhr-streaming or xhr-polling; both send with xhr_send) signs in, chats and gets its answer streamed.
// Usage: node sockjs-fallback.cjs BASE_URL KEY TRANSPORT EXPECTED_ANSWER
const EventBus = require('@vertx/eventbus-bridge-client.js');

const [baseUrl, key, transport, expected] = process.argv.slice(2);
const check = (ok, what) => { if (!ok) { console.log('failed: ' + what); process.exit(1); } console.log('ok: ' + what); };
setTimeout(() => { console.log('failed: timed out'); process.exit(2); }, 30000);

const send = (eb, address, body, headers) => new Promise((resolve) => {
  eb.onerror = (err) => resolve({ err });
  eb.send(address, body, headers || {}, (err, reply) => resolve({ err, reply }));
});

(async () => {
  const eb = new EventBus(baseUrl + '/eventbus', { transports: [transport] });
  eb.enableReconnect(false);
  await new Promise((resolve) => { eb.onopen = resolve; });
  const used = eb.sockJSConn.transport;
  check(used === transport.replace('-', '_').replace('xhr_polling', 'xhr_polling') || used === transport,
    'the socket opened over ' + used + ' (asked for ' + transport + ')');

  const auth = await send(eb, 'switchboard.client.auth', {}, { authorization: 'Bearer ' + key });
  check(!auth.err && auth.reply.body.stream_address, 'signs in (a send over xhr_send, answered)');
  const text = [];
  const done = new Promise((resolve) => eb.registerHandler(auth.reply.body.stream_address, {}, (err, msg) => {
    if (msg.body.type === 'delta') text.push(msg.body.text);
    if (msg.body.type === 'done' || msg.body.type === 'error') resolve(msg.body);
  }));
  await new Promise((r) => setTimeout(r, 200)); // the register frame travels on its own xhr_send
  const chat = await send(eb, 'switchboard.client.chat', { model: 'switchboard-simulator', message: 'hello bridge' });
  check(!chat.err && chat.reply.body.request_id, 'chats');
  const end = await done;
  check(end.type === 'done', 'the answer ends with done (' + JSON.stringify(end) + ')');
  check(text.join('') === expected, 'the streamed text is the whole answer');
  console.log('PASSED');
  process.exit(0);
})();
