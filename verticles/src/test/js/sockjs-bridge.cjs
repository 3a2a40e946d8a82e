// The SockJS event bus bridge from Node with the official client (@vertx/eventbus-bridge-client.js):
// a signed-in client chats and streams on its own address; internal addresses and other tenants' streams
// are out of reach. Usage: node sockjs-bridge.cjs BASE_URL KEY_A KEY_B EXPECTED_ANSWER
const EventBus = require('@vertx/eventbus-bridge-client.js');

const [baseUrl, keyA, keyB, expected] = process.argv.slice(2);
const check = (ok, what) => { if (!ok) { console.log('failed: ' + what); process.exit(1); } console.log('ok: ' + what); };
const timeout = setTimeout(() => { console.log('failed: timed out'); process.exit(2); }, 30000);

function open() {
  return new Promise((resolve) => {
    const eb = new EventBus(baseUrl + '/eventbus');
    eb.enableReconnect(false);
    eb.onopen = () => resolve(eb);
  });
}
// a refused send is reported on the socket's onerror, an accepted one through its reply
const send = (eb, address, body, headers) => new Promise((resolve) => {
  eb.onerror = (err) => resolve({ err });
  eb.send(address, body, headers || {}, (err, reply) => resolve({ err, reply }));
});

(async () => {
  const a = await open();
  const b = await open();
  const stranger = await open();

  const refused = await send(stranger, 'switchboard.client.chat', { model: 'switchboard-simulator', message: 'hi' });
  check(refused.err, 'a socket that has not signed in cannot chat');

  const badKey = await send(stranger, 'switchboard.client.auth', {}, { authorization: 'Bearer wrong-key-000000000000' });
  check(badKey.err, 'a wrong key is refused');

  const authA = await send(a, 'switchboard.client.auth', {}, { authorization: 'Bearer ' + keyA });
  check(!authA.err && authA.reply.body.stream_address.startsWith('switchboard.client.stream.'), 'A signs in');
  const authB = await send(b, 'switchboard.client.auth', {}, { authorization: 'Bearer ' + keyB });
  check(!authB.err && authB.reply.body.tenant === 'globex', 'B signs in as its own tenant');

  const internal = await send(a, 'switchboard.routing.chat', { model: 'switchboard-simulator' });
  check(internal.err, 'an internal address is unreachable (' + JSON.stringify(internal.err && (internal.err.body || internal.err.message)) + ')');

  // A tries to listen on B's stream: refused, and nothing of B's answer reaches A
  let leaked = 0;
  const errors = [];
  a.onerror = (e) => errors.push(e);
  a.registerHandler(authB.reply.body.stream_address, {}, () => { leaked++; });
  await new Promise((r) => setTimeout(r, 300));
  check(errors.length > 0, 'A may not listen on B\'s stream (' + JSON.stringify(errors[0] && errors[0].body) + ')');

  const textA = [];
  const doneA = new Promise((resolve) => a.registerHandler(authA.reply.body.stream_address, {}, (err, msg) => {
    if (msg.body.type === 'delta') textA.push(msg.body.text);
    if (msg.body.type === 'done' || msg.body.type === 'error') resolve(msg.body);
  }));
  const doneB = new Promise((resolve) => b.registerHandler(authB.reply.body.stream_address, {}, (err, msg) => {
    if (msg.body.type === 'done' || msg.body.type === 'error') resolve(msg.body);
  }));

  const spoof = await send(a, 'switchboard.client.chat', { model: 'switchboard-simulator', message: 'hello bridge' },
    { 'x-tenant': 'globex', 'x-stream': authB.reply.body.stream_address });
  check(!spoof.err && spoof.reply.body.request_id, 'A chats (its forged headers are replaced by the bridge)');
  const chatB = await send(b, 'switchboard.client.chat', { model: 'switchboard-simulator', message: 'secret of B' });
  check(!chatB.err, 'B chats');

  const endA = await doneA;
  check(endA.type === 'done' && endA.usage.completion_tokens > 0, 'A gets its answer streamed to its own address');
  check(textA.join('') === expected, 'the streamed text is the whole answer');
  const endB = await doneB;
  check(endB.type === 'done', 'B gets its answer');
  await new Promise((r) => setTimeout(r, 300));
  check(leaked === 0, 'A received nothing of B\'s stream');

  clearTimeout(timeout);
  console.log('PASSED');
  process.exit(0);
})();
