// Drives the bundled web chat page in headless Chromium: sign-in refusal, sign-in, a streamed reply,
// stop, a new conversation. Usage: node webchat.mjs BASE_URL API_KEY EXPECTED_ANSWER SCREENSHOT
import { chromium } from 'playwright-core';

const [baseUrl, apiKey, expected, screenshot] = process.argv.slice(2);
const check = (ok, what) => { if (!ok) { throw new Error('failed: ' + what); } console.log('ok: ' + what); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(baseUrl.replace('http', 'ws')) && !r.url().startsWith(baseUrl)) outside.push(r.url()); });
  await page.goto(baseUrl + '/');

  await page.fill('#api-key', 'not-the-right-key-000000');
  await page.click('#signin-button');
  await page.waitForSelector('#signin-error:not([hidden])');
  check((await page.textContent('#signin-error')).includes('refused'), 'a wrong key is refused with a clear message');

  await page.fill('#api-key', apiKey);
  await page.click('#signin-button');
  await page.waitForSelector('#app:not([hidden])');
  check(await page.isVisible('#composer'), 'signed in');
  check((await page.$$('#model option')).length >= 2, 'models are listed');

  // a streamed reply: watch the text grow, then compare it with the gateway's whole answer
  await page.selectOption('#model', 'sim-paced');
  await page.fill('#input', 'hello from the browser');
  await page.press('#input', 'Enter');
  await page.waitForSelector('.message.assistant.streaming');
  const lengths = new Set();
  for (let i = 0; i < 40 && await page.$('.message.assistant.streaming'); i++) {
    lengths.add((await page.textContent('.message.assistant')).length);
    await page.waitForTimeout(25);
  }
  await page.waitForSelector('.message.assistant:not(.streaming)');
  check(lengths.size >= 3, 'the reply appeared piece by piece (' + lengths.size + ' lengths seen)');
  check((await page.textContent('.message.assistant')) === expected, 'the streamed reply is the whole answer');

  // stop a long answer
  await page.selectOption('#model', 'slow-talker');
  await page.fill('#input', 'a very long story');
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.message.assistant')[1]?.textContent.length > 5);
  await page.click('#stop');
  await page.waitForSelector('#stop', { state: 'hidden' });
  const stopped = await page.evaluate(() => document.querySelectorAll('.message.assistant')[1].textContent.length);
  await page.waitForTimeout(500);
  const later = await page.evaluate(() => document.querySelectorAll('.message.assistant')[1].textContent.length);
  check(stopped === later && stopped < 400, 'stop ends the answer (' + stopped + ' chars)');

  // an unknown model is refused with a clear error in the page
  await page.evaluate(() => { const o = document.createElement('option'); o.value = 'no-such-model'; o.text = 'x'; document.getElementById('model').appendChild(o); });
  await page.selectOption('#model', 'no-such-model');
  await page.fill('#input', 'hi');
  await page.press('#input', 'Enter');
  await page.waitForSelector('#chat-error:not([hidden])');
  check((await page.textContent('#chat-error')).includes('does not exist'), 'a refusal from the gateway is shown');

  await page.click('#new-conversation');
  check((await page.$$('#conversations li')).length === 2, 'a new conversation is listed beside the first');
  check((await page.$$('.message')).length === 0, 'and starts empty');
  await page.screenshot({ path: screenshot, fullPage: true });
  check(outside.length === 0, 'nothing was fetched from outside the gateway ' + JSON.stringify(outside));
  console.log('PASSED');
} finally {
  await browser.close();
}
