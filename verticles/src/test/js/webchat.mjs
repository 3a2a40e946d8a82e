// Drives the bundled web chat page in headless Chromium, one scenario per run, checking what a person sees
// (playwright's isVisible, bounding boxes, the text on screen), not attributes.
// Usage: node webchat.mjs SCENARIO '{"baseUrl":..,"key":..,...}'   (see WebChatPageTest.java)
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const [scenario, json] = process.argv.slice(2);
const options = JSON.parse(json);
const { baseUrl, key } = options;
const check = (ok, what) => { if (!ok) { throw new Error('failed: ' + what); } console.log('ok: ' + what); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const outside = [];

/** A new browser profile (its own storage) with a page on the gateway. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await context.newPage();
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(baseUrl) && !url.startsWith(baseUrl.replace('http', 'ws')) && !url.startsWith('data:')) {
      outside.push(url);
    }
  });
  page.on('pageerror', (e) => console.log('page error: ' + e.message));
  page.sentChats = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    try {
      const m = JSON.parse(f.payload);
      if (m.type === 'chat') { page.sentChats.push(m); }
    } catch (e) { /* not ours */ }
  }));
  await page.goto(baseUrl + '/');
  return page;
}

async function signIn(page, apiKey = key) {
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#input').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
}

/** Sends a message with the keyboard and waits until the answer is complete. */
async function ask(page, text, model) {
  if (model) {
    await page.getByLabel('Model').selectOption(model);
  }
  const before = await page.locator('.message.assistant').count();
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
  await page.locator('.message.user').last().waitFor();
  // done when the answer has finished streaming, or was refused (an error shows, no answer)
  await page.waitForFunction((n) => !document.querySelector('.message.assistant.streaming')
    && (document.querySelectorAll('.message.assistant').length > n || !document.getElementById('chat-error').hidden),
  before, { timeout: 20000 });
  return page.locator('.message.assistant').nth(before);
}

const visibleText = (locator) => locator.evaluate((e) => e.innerText);

const scenarios = {
  async signin() {
    const page = await newPage();
    const chat = ['#app', '#chat', '#messages', '#composer', '#input', '#send', '#conversations', '#new-conversation', '#model'];
    const nothingOfTheChat = async (when) => {
      for (const selector of chat) {
        check(!(await page.isVisible(selector)) && (await page.locator(selector).boundingBox()) === null,
          when + ': ' + selector + ' is not on screen');
      }
      const shot = await page.screenshot({ fullPage: true });
      const size = { w: shot.readUInt32BE(16), h: shot.readUInt32BE(20) };
      check(size.h <= 900, when + ': the page is only the sign-in card (' + size.w + 'x' + size.h + ' px)');
    };
    check(await page.getByLabel('API key').isVisible(), 'the sign-in card is shown');
    await nothingOfTheChat('before sign-in');
    // the keyboard cannot reach the chat either
    const reached = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement.closest('#app') ? document.activeElement.id || 'in-app' : ''));
    }
    check(reached.every((r) => r === ''), 'Tab never reaches the chat before sign-in ' + JSON.stringify(reached));

    await page.getByLabel('API key').fill('not-the-right-key-000000');
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();
    check((await page.textContent('#signin-error')).includes('refused'), 'a wrong key is refused with a clear message');
    await nothingOfTheChat('after a refusal');

    await signIn(page);
    check(!(await page.isVisible('#signin')), 'the sign-in card is gone once signed in');
    for (const selector of ['#composer', '#input', '#send', '#new-conversation', '#model', '#attach']) {
      check(await page.isVisible(selector), 'signed in: ' + selector + ' is shown');
    }
    check((await page.$$('#model option')).length >= 3, 'models are listed');
    check(await page.evaluate(() => document.activeElement.id === 'input'), 'the message box has the focus');
  },

  async stream() {
    const page = await newPage();
    await signIn(page);
    // Shift+Enter is a new line, not a send
    await page.getByLabel('Model').selectOption('sim-paced');
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('hello from');
    await input.press('Shift+Enter');
    await input.type('the browser');
    check((await input.inputValue()) === 'hello from\nthe browser' && (await page.locator('.message').count()) === 0,
      'Shift+Enter adds a new line and sends nothing');
    // every text length the answer showed on screen, as the page re-rendered it
    await page.evaluate(() => {
      window.__lengths = new Set();
      new MutationObserver(() => {
        const m = document.querySelector('.message.assistant .markdown');
        if (m) { window.__lengths.add(m.innerText.length); }
      }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    });
    await input.fill('hello from the browser');
    await input.press('Enter');
    await page.locator('.message.user').waitFor();
    check((await input.inputValue()) === '', 'Enter sends and empties the message box');
    check((await visibleText(page.locator('.message.user'))) === 'hello from the browser', 'the question is shown');
    await page.waitForSelector('.message.assistant.streaming');
    check(await page.isVisible('#stop') && !(await page.isVisible('#send')), 'Stop replaces Send while the answer streams');
    await page.waitForSelector('.message.assistant:not(.streaming)');
    const lengths = new Set(await page.evaluate(() => [...window.__lengths]));
    check(lengths.size >= 3, 'the reply appeared piece by piece (' + lengths.size + ' lengths seen)');
    const shown = (await visibleText(page.locator('.message.assistant'))).trim();
    check(shown === options.expected.trim(), 'the streamed reply is the whole answer: ' + JSON.stringify(shown));

    // stop a long answer
    await page.getByLabel('Model').selectOption('slow-talker');
    await input.fill('a very long story');
    await input.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.message.assistant')[1]?.textContent.length > 5);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.waitForSelector('#stop', { state: 'hidden' });
    const stopped = await page.evaluate(() => document.querySelectorAll('.message.assistant')[1].textContent.length);
    await page.waitForTimeout(500);
    const later = await page.evaluate(() => document.querySelectorAll('.message.assistant')[1].textContent.length);
    check(stopped === later && stopped < 400, 'stop ends the answer (' + stopped + ' chars) and keeps what came');
    check(await page.isVisible('#send'), 'and Send is back');

    // an unknown model is refused with a clear error in the page
    await page.evaluate(() => { const o = document.createElement('option'); o.value = 'no-such-model'; o.text = 'x'; document.getElementById('model').appendChild(o); });
    await page.getByLabel('Model').selectOption('no-such-model');
    await input.fill('hi');
    await input.press('Enter');
    await page.locator('#chat-error').waitFor({ state: 'visible' });
    check((await page.textContent('#chat-error')).includes('does not exist'), 'a refusal from the gateway is shown');
  },

  async markdown() {
    const page = await newPage();
    await signIn(page);
    await page.getByLabel('Model').selectOption('fake-gpt');
    // while it streams, what has arrived is already Markdown on screen: look at every render
    await page.evaluate(() => {
      window.__renders = [];
      new MutationObserver(() => {
        const m = document.querySelector('.message.assistant.streaming .markdown');
        if (m) {
          window.__renders.push({ length: m.innerText.length, strong: !!m.querySelector('strong'), table: !!m.querySelector('table') });
        }
      }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel('Message', { exact: true }).fill('show me markdown');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    const answer = page.locator('.message.assistant').first();
    await page.waitForSelector('.message.assistant.streaming');
    await page.waitForFunction(() => !document.querySelector('.message.assistant.streaming'), null, { timeout: 20000 });
    const renders = await page.evaluate(() => window.__renders);
    const lengths = new Set(renders.map((r) => r.length));
    const renderedWhileStreaming = renders.some((r) => r.strong && !r.table);
    check(lengths.size >= 3 && renderedWhileStreaming,
      'the Markdown is rendered as it streams (' + lengths.size + ' lengths seen, bold shown before the table arrived)');

    const code = answer.locator('pre code');
    check(await code.isVisible(), 'the fenced code block is shown');
    const codeText = (await code.innerText()).trimEnd();
    check(codeText === 'def greet(name):\n    return f"Hello, {name}!"', 'with the code as written, indentation kept: ' + JSON.stringify(codeText));
    const font = await code.evaluate((e) => getComputedStyle(e).fontFamily);
    check(/mono|consol|menlo/i.test(font), 'in a monospace font (' + font + ')');
    check(await answer.locator('pre').evaluate((e) => getComputedStyle(e).whiteSpace === 'pre'), 'lines are kept as lines');
    check(!(await visibleText(answer)).includes('```'), 'no fence markers are visible');

    const table = answer.locator('table');
    check(await table.isVisible(), 'the table is shown as a table');
    check(JSON.stringify(await table.locator('th').allInnerTexts()) === '["Model","Tokens"]', 'with its header');
    check(JSON.stringify(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.innerText))))
      === '[["sim-paced","20"],["slow-talker","300"]]', 'and its rows');
    const cells = await table.locator('tbody tr').first().locator('td').evaluateAll((tds) => tds.map((td) => td.getBoundingClientRect()));
    check(cells[1].left > cells[0].right - 1 && Math.abs(cells[0].top - cells[1].top) < 1, 'cells sit side by side');

    check((await answer.locator('strong').innerText()) === 'bold' && (await answer.locator('em').innerText()) === 'italic',
      'emphasis is rendered');
    check((await answer.locator(':not(pre) > code').innerText()) === 'inline code', 'inline code is rendered');
    check(JSON.stringify(await answer.locator('ul > li').allInnerTexts()) === '["first item","second item"]', 'a bullet list');
    check(JSON.stringify(await answer.locator('ol > li').allInnerTexts()) === '["one","two"]', 'a numbered list');
    const safe = answer.getByRole('link', { name: 'safe link' });
    check(await safe.getAttribute('href') === 'https://example.com/docs'
      && (await safe.getAttribute('rel')).split(' ').includes('noopener') && await safe.getAttribute('target') === '_blank',
      'links open in a new tab with rel=noopener');
    const bad = answer.locator('a', { hasText: 'bad link' });
    check((await page.getByText('bad link').isVisible())
      && !((await bad.count()) && /javascript:/i.test(await bad.getAttribute('href') || '')), 'a javascript: link is shown but not clickable');
    if (await bad.count()) {
      await bad.click();
    }

    await page.screenshot({ path: options.screenshot });
    console.log('screenshot: ' + options.screenshot);

    // HTML in an answer is text, never markup
    await page.evaluate(() => { window.__pwned = undefined; });
    const html = await ask(page, 'now some html');
    await page.waitForTimeout(300);
    await html.getByText('bold?').hover();
    check(await page.evaluate(() => window.__pwned === undefined && window.__pwned_link === undefined),
      'no script in the answer ran (onerror, <script>, onmouseover, javascript: link)');
    check(await html.locator('img, script, b, iframe').count() === 0, 'no element came from the answer\'s HTML');
    const text = await visibleText(html);
    check(text.includes('<img src=x onerror="window.__pwned=1">') && text.includes('<script>window.__pwned=3</script>')
      && text.includes('<b onmouseover="window.__pwned=4">bold?</b>'), 'the HTML is shown as the text it is: ' + JSON.stringify(text));
    check(await page.locator('.message').count() === 4, 'both questions and both answers are on screen');
  },

  async conversations() {
    // one browser talks in two conversations
    const first = await newPage();
    await signIn(first);
    check(await first.locator('#conversations li').count() === 1
      && (await first.locator('#conversations li button').innerText()) === 'New conversation', 'a new key starts with one new conversation');
    await ask(first, 'show me markdown', 'fake-gpt');
    await first.getByRole('button', { name: '+ New conversation' }).click();
    check(await first.locator('.message').count() === 0, 'a new conversation starts empty');
    await ask(first, 'hello there', 'fake-gpt');
    await first.waitForFunction(() => document.querySelectorAll('#conversations li').length === 2);

    // another browser (nothing in its storage) finds both in the gateway
    const page = await newPage();
    await signIn(page);
    await page.waitForFunction(() => [...document.querySelectorAll('#conversations li button:not(.delete)')].map((l) => l.innerText).join('|')
      .includes('hello there|show me markdown'), null, { timeout: 10000 });
    const titles = await page.locator('#conversations li button:not(.delete)').allInnerTexts();
    check(JSON.stringify(titles) === '["New conversation","hello there","show me markdown"]',
      'the sidebar lists the gateway\'s conversations, newest first: ' + JSON.stringify(titles));
    const id = await page.getByRole('button', { name: 'show me markdown', exact: true }).getAttribute('data-id');
    await page.getByRole('button', { name: 'show me markdown', exact: true }).click();
    await page.locator('.message.assistant table').waitFor();
    // marked as a person sees it: the opened conversation's entry looks different from the others
    const look = async name => page.getByRole('button', { name, exact: true })
      .evaluate(b => { const c = getComputedStyle(b); return c.backgroundColor + ' ' + c.fontWeight; });
    const opened = await look('show me markdown');
    const other = await look('hello there');
    check(opened !== other, 'the opened conversation is marked in the sidebar (' + opened + ' vs ' + other + ')');
    check((await visibleText(page.locator('.message.user'))) === 'show me markdown', 'reopened: the question is shown');
    check(await page.locator('.message.assistant pre code').isVisible()
      && await page.locator('.message.assistant table').isVisible(), 'and the answer as Markdown (code block, table)');
    const answer = await ask(page, 'how many messages do you see?', 'fake-gpt');
    check(page.sentChats.at(-1).conversation_id === id, 'the next question continues that conversation (' + id + ')');
    check((await visibleText(answer)).includes('This conversation has 3 messages so far.'),
      'and the model got its memory: ' + JSON.stringify(await visibleText(answer)));
    const ids = await page.locator('#conversations li button').evaluateAll((b) => b.map((x) => x.dataset.id));
    check(ids[0] === id, 'it moves to the top of the list');

    await page.getByRole('button', { name: '+ New conversation' }).click();
    check(await page.locator('.message').count() === 0, 'New conversation empties the chat');
    const answer2 = await ask(page, 'how many messages now?');
    check((await visibleText(answer2)).includes('has 1 messages'), 'and starts another: the model sees only the new question');
    check(page.sentChats.at(-1).conversation_id !== id, 'with another conversation id');

    // delete one: it goes from the sidebar and from the gateway
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Delete conversation: hello there', exact: true }).click();
    await page.getByRole('button', { name: 'hello there', exact: true }).waitFor({ state: 'detached' });
    check(!(await page.getByText('hello there').isVisible()), 'a deleted conversation leaves the sidebar');
    const third = await newPage();
    await signIn(third);
    await third.waitForFunction(() => document.querySelector('#conversations').innerText.includes('show me markdown'));
    const left = await third.locator('#conversations li button:not(.delete)').allInnerTexts();
    check(!left.includes('hello there') && left.includes('show me markdown'), 'and from the gateway: ' + JSON.stringify(left));
  },

  async image() {
    const page = await newPage();
    await signIn(page);
    await page.getByLabel('Model').selectOption('fake-gpt');
    const png = readFileSync(options.image);

    // too large: refused with a message, nothing attached
    await page.setInputFiles('#file', { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(5 * 1024 * 1024, 1) });
    await page.locator('#chat-error').waitFor({ state: 'visible' });
    check((await page.textContent('#chat-error')).includes('larger than 4 MB'), 'an image over 4 MB is refused with a message');
    check(!(await page.isVisible('#attachments img')), 'and not attached');

    // a large photo (a 2 MB PNG of noise) is made smaller to fit a message
    await page.setInputFiles('#file', options.bigImage);
    await page.locator('#attachments img').first().waitFor();
    const shrunk = await page.locator('#attachments img').evaluate((img) => ({ src: img.src.slice(0, 23), length: img.src.length, w: img.naturalWidth }));
    check(shrunk.src === 'data:image/jpeg;base64,' && shrunk.length <= 700 * 1024 && shrunk.w <= 1000 && await page.isVisible('#attachments img'),
      'a 2 MB image is attached made smaller (' + shrunk.w + ' px wide, ' + Math.round(shrunk.length / 1024) + ' KB as sent)');
    await page.getByRole('button', { name: 'Remove webchat-noise.png' }).click();
    check(!(await page.isVisible('#attachments')), 'and removed again');

    // from the file picker, and pasted
    await page.getByLabel('Attach an image').setInputFiles({ name: 'circle.png', mimeType: 'image/png', buffer: png });
    await page.locator('#attachments img').first().waitFor();
    await page.getByLabel('Message', { exact: true }).focus();
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      document.getElementById('input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, png.toString('base64'));
    await page.waitForFunction(() => document.querySelectorAll('#attachments img').length === 2);
    const thumbs = page.locator('#attachments img');
    for (let i = 0; i < 2; i++) {
      const box = await thumbs.nth(i).boundingBox();
      check(box && box.width > 20 && box.height > 20 && await thumbs.nth(i).evaluate((img) => img.complete && img.naturalWidth === 48),
        'thumbnail ' + (i + 1) + ' is shown before sending (' + (box && Math.round(box.width) + 'x' + Math.round(box.height)) + ')');
    }
    check(!(await page.isVisible('#chat-error')), 'the earlier refusal is gone');
    if (options.screenshot) {
      await page.screenshot({ path: options.screenshot });
    }
    await page.getByRole('button', { name: 'Remove pasted.png' }).click();
    check(await thumbs.count() === 1, 'a thumbnail can be removed before sending');

    const answer = await ask(page, 'what is in this picture?');
    const sent = page.sentChats.at(-1);
    check(JSON.stringify(sent.messages?.[0]?.content?.map((p) => p.type)) === '["text","image_url"]'
      && sent.messages[0].content[1].image_url.url === 'data:image/png;base64,' + png.toString('base64'),
      'the page sent the text and the image as OpenAI content parts');
    check(!(await page.isVisible('#attachments img')), 'the attachment is cleared once sent');
    const sentImage = page.locator('.message.user img');
    check(await sentImage.isVisible() && await sentImage.evaluate((img) => img.naturalWidth === 48), 'the question shows the image');
    const error = await page.isVisible('#chat-error') ? await page.textContent('#chat-error') : '';
    check(error === '', 'the gateway accepted the image (needs image parts in the gateway) ' + JSON.stringify(error));
    check((await visibleText(answer)).includes('I got 1 image and the words: what is in this picture?'),
      'and the model answered about it: ' + JSON.stringify(await visibleText(answer)));

    // reopened elsewhere, the image is a thumbnail again
    const other = await newPage();
    await signIn(other);
    await other.getByRole('button', { name: 'what is in this picture?', exact: true }).click();
    await other.locator('.message.assistant').waitFor();
    const again = other.locator('.message.user img');
    check(await again.isVisible() && await again.evaluate((img) => img.naturalWidth === 48),
      'a reopened conversation shows the image as a thumbnail');
  },
};

try {
  if (!scenarios[scenario]) {
    throw new Error('no scenario ' + scenario);
  }
  await scenarios[scenario]();
  check(outside.length === 0, 'nothing was fetched from outside the gateway ' + JSON.stringify(outside));
  console.log('PASSED');
} catch (e) {
  console.log(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
