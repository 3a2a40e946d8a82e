// The npm `openai` SDK drives an agent through Switchboard (in front of a fake OpenAI upstream, see FidelityTest):
// tool calls both rounds, streamed (the SDK's own stream assembly) and not, an image part, logprobs, usage details.
// Usage: node openai-sdk.mjs BASE_URL API_KEY
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + '/v1', apiKey, maxRetries: 0, timeout: 20_000 });
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
const question = { role: 'user', content: 'What is the weather in Paris?' };

async function rounds(stream) {
  const ask = { model: 'gpt-fake', messages: [question], tools };
  const one = stream ? await client.chat.completions.stream(ask).finalChatCompletion()
    : await client.chat.completions.create(ask);
  assert.equal(one.choices[0].finish_reason, 'tool_calls');
  const call = one.choices[0].message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  const next = { model: 'gpt-fake', tools, messages: [question, one.choices[0].message,
    { role: 'tool', tool_call_id: call.id, content: 'sunny, 24 C' }] };
  const two = stream ? await client.chat.completions.stream(next).finalChatCompletion()
    : await client.chat.completions.create(next);
  assert.equal(two.choices[0].message.content, 'The tool said: sunny, 24 C.');
  return one;
}

const whole = await rounds(false);
const streamed = await rounds(true);
assert.deepEqual(streamed.choices[0].message.tool_calls, whole.choices[0].message.tool_calls,
  'the streamed tool call, assembled by the SDK, equals the whole one');
assert.match(whole.id, /^chatcmpl-req_/);
assert.equal(whole.model, 'gpt-fake');

const image = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const seen = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: [
  { type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: image } }] }] });
assert.match(seen.choices[0].message.content, /^I see an image \(data\)\./);

const probed = await client.chat.completions.create({ model: 'gpt-fake', logprobs: true, top_logprobs: 1,
  messages: [{ role: 'user', content: 'Capital?' }] });
assert.equal(probed.choices[0].logprobs.content[0].token, 'Paris ');
assert.equal(probed.usage.completion_tokens_details.reasoning_tokens, 0);
assert.equal(probed.system_fingerprint, 'fp_fake_0001');
assert.equal(probed.service_tier, 'default');

let usage = null;
let text = '';
const chunks = await client.chat.completions.create({ model: 'gpt-fake', stream: true, logprobs: true,
  stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Capital?' }] });
for await (const chunk of chunks) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) text += choice.delta.content ?? '';
}
assert.equal(text, probed.choices[0].message.content, 'streamed and whole answers agree');
assert.deepEqual(usage.prompt_tokens_details, probed.usage.prompt_tokens_details);

const error = await client.chat.completions.create({ model: 'gpt-fake', messages: [question,
  { role: 'tool', tool_call_id: 'call_nowhere', content: 'x' }] }).catch(e => e);
assert.ok(error instanceof OpenAI.BadRequestError, 'a malformed tool round is a 400 the SDK knows: ' + error);
console.log('PASSED');
