// Switchboard web chat: one WebSocket to /v1/ws, answers streamed as they are generated and shown as
// Markdown (marked, then DOMPurify). Conversations live in the gateway: the sidebar lists them from
// GET /v1/conversations and reopens one from GET /v1/conversations/{id}. Nothing is fetched from outside
// the gateway; the vendored libraries are in vendor/.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);

  /** Images are sent inline (data: URLs) in one WebSocket message, which the gateway caps at
   * server.max_body_bytes (1 MiB by default): keep what a message carries well under that. */
  const MAX_FILE_BYTES = 4 * 1024 * 1024;
  const MAX_IMAGE_CHARS = 700 * 1024;
  const MAX_MESSAGE_IMAGE_CHARS = 900 * 1024;
  const MAX_IMAGES = 4;
  const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

  const store = {
    key: () => sessionStorage.getItem('switchboard.key'),
    setKey: (k) => k === null ? sessionStorage.removeItem('switchboard.key') : sessionStorage.setItem('switchboard.key', k),
    current: () => sessionStorage.getItem('switchboard.current'),
    setCurrent: (id) => sessionStorage.setItem('switchboard.current', id),
    titles: () => { try { return JSON.parse(localStorage.getItem('switchboard.titles') || '{}'); } catch (e) { return {}; } },
    setTitle: (id, title) => {
      const titles = store.titles();
      titles[id] = title;
      const ids = Object.keys(titles);
      for (const old of ids.slice(0, Math.max(0, ids.length - 500))) { delete titles[old]; }
      localStorage.setItem('switchboard.titles', JSON.stringify(titles));
    },
    model: () => localStorage.getItem('switchboard.model'),
    setModel: (m) => localStorage.setItem('switchboard.model', m),
  };

  let socket = null;
  let serverIds = [];          // the gateway's conversations for this key, most recent first
  let current = null;          // {id, fresh}: fresh = not yet known to the gateway
  let streaming = null;        // {id, element, body, text, frame, lastRender, cost}
  let attachments = [];        // [{url, name}]
  let turnCounter = 0;
  let openSeq = 0;

  // ---------- Markdown, safely ----------
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  // Without the vendored libraries (not served?) answers are shown as plain text: never as unsanitized HTML.
  const canRender = typeof marked !== 'undefined' && typeof DOMPurify !== 'undefined' && DOMPurify.isSupported;
  const markdown = canRender && new marked.Marked({
    gfm: true,
    breaks: false,
    renderer: {
      // HTML the model writes is shown as the text it is, never as markup
      html(token) { return escapeHtml(token.text); },
      // images in answers would load from anywhere: show them as links instead
      image(token) { return '<a href="' + escapeHtml(token.href || '') + '">' + escapeHtml(token.text || token.href || 'image') + '</a>'; },
    },
  });
  const PURIFY = {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select', 'option',
      'iframe', 'frame', 'object', 'embed', 'video', 'audio', 'source', 'picture', 'link', 'meta', 'base'],
    FORBID_ATTR: ['style', 'id', 'name', 'srcset', 'action', 'formaction'],
  };
  if (canRender) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A' && node.hasAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
  }

  function renderMarkdown(element, text) {
    if (!canRender) {
      element.classList.add('plain');
      element.textContent = text;
      return;
    }
    element.innerHTML = DOMPurify.sanitize(markdown.parse(text), PURIFY);
    for (const pre of element.querySelectorAll('pre')) {
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'copy';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy code');
      copy.onclick = () => {
        const code = pre.querySelector('code') || pre;
        navigator.clipboard?.writeText(code.textContent).then(() => { copy.textContent = 'Copied'; }, () => {});
      };
      pre.appendChild(copy);
    }
  }

  // ---------- talking to the gateway ----------
  function api(path, options = {}) {
    const headers = Object.assign({}, options.headers);
    if (store.key()) {
      headers.authorization = 'Bearer ' + store.key();
    }
    return fetch(path, Object.assign({}, options, { headers }));
  }

  async function apiError(response) {
    try {
      return (await response.json()).error.message;
    } catch (e) {
      return 'HTTP ' + response.status;
    }
  }

  function showError(where, text) {
    const el = $(where);
    el.textContent = text;
    el.hidden = !text;
  }

  function signIn(key) {
    showError('signin-error', '');
    $('signin-button').disabled = true;
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
    const ws = new WebSocket(url);
    let ready = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', api_key: key }));
    ws.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === 'ready' && !ready) {
        ready = true;
        socket = ws;
        store.setKey(key);
        enterApp();
      } else {
        handle(message);
      }
    };
    ws.onclose = (event) => {
      $('signin-button').disabled = false;
      if (!ready) {
        if (event.code === 4401) {
          store.setKey(null);
        }
        showError('signin-error', event.code === 4401
          ? 'The gateway refused this API key.' : 'Could not reach the gateway (' + (event.reason || event.code) + ').');
        $('api-key').focus();
        return;
      }
      socket = null;
      if (streaming) {
        finishStreaming();
      }
      showError('chat-error', event.code === 4409 ? 'Disconnected: ' + event.reason
        : event.code === 1009 ? 'The message was too large for the gateway, and it closed the connection. Sign in again to go on.'
          : 'The connection to the gateway closed (' + (event.reason || event.code) + '). Sign in again to go on.');
      $('send').disabled = true;
    };
  }

  async function enterApp() {
    $('signin').hidden = true;
    $('app').hidden = false;
    $('send').disabled = false;
    showError('chat-error', '');
    await Promise.all([loadModels(), refreshConversations()]);
    const last = store.current();
    if (last && serverIds.includes(last)) {
      open(last);
    } else {
      newConversation();
    }
  }

  async function loadModels() {
    try {
      const response = await api('/v1/models');
      if (!response.ok) {
        throw new Error(await apiError(response));
      }
      const body = await response.json();
      const select = $('model');
      select.innerHTML = '';
      for (const model of body.data || []) {
        const option = document.createElement('option');
        option.value = model.id;
        option.textContent = model.id + (model.owned_by === 'switchboard-simulator' ? ' (simulator)' : '');
        select.appendChild(option);
      }
      if (store.model() && [...select.options].some((o) => o.value === store.model())) {
        select.value = store.model();
      }
    } catch (e) {
      showError('chat-error', 'Could not list the models: ' + e.message);
    }
  }

  // ---------- the conversation list ----------
  async function refreshConversations() {
    const status = $('conversations-status');
    try {
      const response = await api('/v1/conversations');
      if (!response.ok) {
        throw new Error(await apiError(response));
      }
      serverIds = ((await response.json()).data || []).map((c) => c.id);
      status.hidden = true;
      if (current && serverIds.includes(current.id)) {
        current.fresh = false;
      }
    } catch (e) {
      status.textContent = 'Could not list your conversations: ' + e.message;
      status.hidden = false;
    }
    renderList();
    fillMissingTitles();
  }

  function titleOf(id) {
    return store.titles()[id] || 'Conversation ' + id;
  }

  function renderList() {
    const ul = $('conversations');
    ul.innerHTML = '';
    const ids = serverIds.slice();
    if (current && !ids.includes(current.id)) {
      ids.unshift(current.id);
    }
    for (const id of ids) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.id = id;
      button.textContent = current && current.fresh && current.id === id && !store.titles()[id] ? 'New conversation' : titleOf(id);
      button.title = button.textContent;
      if (current && current.id === id) {
        button.setAttribute('aria-current', 'true');
      }
      button.onclick = () => open(id);
      li.appendChild(button);
      if (serverIds.includes(id)) {
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'delete';
        remove.textContent = '×';
        remove.title = 'Delete';
        remove.setAttribute('aria-label', 'Delete conversation: ' + button.textContent);
        remove.onclick = () => deleteConversation(id);
        li.appendChild(remove);
      }
      ul.appendChild(li);
    }
  }

  async function deleteConversation(id) {
    if (!confirm('Delete "' + titleOf(id) + '"? The gateway forgets it.')) {
      return;
    }
    try {
      const response = await api('/v1/conversations/' + encodeURIComponent(id), { method: 'DELETE' });
      if (!response.ok && response.status !== 404) {
        throw new Error(await apiError(response));
      }
      serverIds = serverIds.filter((i) => i !== id);
      if (current && current.id === id) {
        newConversation();
      } else {
        renderList();
      }
      refreshConversations();
    } catch (e) {
      showError('chat-error', 'Could not delete the conversation: ' + e.message);
    }
  }

  let fillingTitles = false;
  /** Conversations started elsewhere (another browser, the API) get their first question as title. */
  async function fillMissingTitles() {
    if (fillingTitles) {
      return;
    }
    fillingTitles = true;
    try {
      for (const id of serverIds.filter((i) => !store.titles()[i]).slice(0, 20)) {
        const response = await api('/v1/conversations/' + encodeURIComponent(id));
        if (!response.ok) {
          continue;
        }
        const first = ((await response.json()).messages || []).find((m) => m.role === 'user');
        if (first) {
          const { text, images } = parts(first.content);
          store.setTitle(id, titleFrom(text, images));
          const button = $('conversations').querySelector('button[data-id="' + CSS.escape(id) + '"]');
          if (button) {
            button.textContent = button.title = titleOf(id);
            button.nextElementSibling?.setAttribute('aria-label', 'Delete conversation: ' + titleOf(id));
          }
        }
      }
    } catch (e) {
      // titles are a nicety; the ids stay
    } finally {
      fillingTitles = false;
    }
  }

  const titleFrom = (text, images) => (text.trim().replace(/\s+/g, ' ').slice(0, 60)) || (images.length ? 'Image' : 'New conversation');

  function stopStreaming() {
    if (streaming) {
      if (socket) {
        socket.send(JSON.stringify({ type: 'cancel', id: streaming.id }));
      }
      finishStreaming();
    }
  }

  function newConversation() {
    stopStreaming();
    const id = 'web-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8);
    current = { id, fresh: true };
    store.setCurrent(id);
    $('messages').innerHTML = '';
    showError('chat-error', '');
    renderList();
    $('input').focus();
  }

  async function open(id) {
    stopStreaming();
    const seq = ++openSeq;
    current = { id, fresh: !serverIds.includes(id) };
    store.setCurrent(id);
    showError('chat-error', '');
    renderList();
    const box = $('messages');
    box.innerHTML = '';
    if (current.fresh) {
      return;
    }
    box.setAttribute('aria-busy', 'true');
    try {
      const response = await api('/v1/conversations/' + encodeURIComponent(id));
      if (seq !== openSeq) {
        return;
      }
      if (response.status === 404) {
        showError('chat-error', 'The gateway no longer remembers this conversation.');
        serverIds = serverIds.filter((i) => i !== id);
        current.fresh = true;
        renderList();
        return;
      }
      if (!response.ok) {
        throw new Error(await apiError(response));
      }
      const body = await response.json();
      for (const m of body.messages || []) {
        const { text, images } = parts(m.content);
        if (m.role === 'user') {
          addUserMessage(text, images);
        } else if (m.role === 'assistant') {
          renderMarkdown(addMessage('assistant').body, text);
        }
      }
      box.scrollTop = box.scrollHeight;
    } catch (e) {
      if (seq === openSeq) {
        showError('chat-error', 'Could not open the conversation: ' + e.message);
      }
    } finally {
      if (seq === openSeq) {
        box.removeAttribute('aria-busy');
        $('input').focus();
      }
    }
  }

  /** OpenAI content: a string, or an array of parts. */
  function parts(content) {
    if (typeof content === 'string') {
      return { text: content, images: [] };
    }
    const text = [];
    const images = [];
    for (const part of Array.isArray(content) ? content : []) {
      if (part && part.type === 'text' && typeof part.text === 'string') {
        text.push(part.text);
      } else if (part && part.type === 'image_url') {
        const url = typeof part.image_url === 'string' ? part.image_url : part.image_url && part.image_url.url;
        if (typeof url === 'string') {
          images.push(url);
        }
      }
    }
    return { text: text.join('\n'), images };
  }

  // ---------- messages on screen ----------
  function nearBottom() {
    const box = $('messages');
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function addMessage(role) {
    const div = document.createElement('div');
    div.className = 'message ' + role;
    const body = document.createElement('div');
    body.className = role === 'assistant' ? 'markdown' : 'text';
    div.appendChild(body);
    $('messages').appendChild(div);
    return { element: div, body };
  }

  function addUserMessage(text, images) {
    const { element, body } = addMessage('user');
    if (images.length) {
      const row = document.createElement('div');
      row.className = 'images';
      for (const url of images) {
        if (/^data:image\/(png|jpeg|gif|webp);base64,/i.test(url)) {
          const img = document.createElement('img');
          img.src = url;
          img.alt = 'Attached image';
          row.appendChild(img);
        } else {
          const span = document.createElement('span');
          span.textContent = '[image: ' + url.slice(0, 80) + ']';
          row.appendChild(span);
        }
      }
      element.insertBefore(row, body);
    }
    body.textContent = text;
    element.scrollIntoView({ block: 'end' });
    return element;
  }

  // ---------- attachments ----------
  function readAsDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error('not a readable image'));
      img.src = url;
    });
  }

  /** Smaller copies until one fits: the longest side at most 2048, then 1536, 1024, 768, 512 px, as JPEG. */
  async function downscale(url) {
    const img = await loadImage(url);
    const longest = Math.max(img.naturalWidth, img.naturalHeight);
    // as it is when that is small enough, then smaller steps
    const sides = [longest, 2048, 1536, 1024, 768, 512].filter((side, i) => i === 0 ? side <= 2048 : side < longest);
    for (const side of sides) {
      const scale = Math.min(1, side / longest);
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
      const g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.drawImage(img, 0, 0, canvas.width, canvas.height);
      for (const quality of [0.85, 0.7]) {
        const smaller = canvas.toDataURL('image/jpeg', quality);
        if (smaller.length <= MAX_IMAGE_CHARS) {
          return smaller;
        }
      }
    }
    return null;
  }

  async function attach(files) {
    showError('chat-error', '');
    for (const file of files) {
      const name = file.name || 'pasted image';
      if (attachments.length >= MAX_IMAGES) {
        showError('chat-error', 'At most ' + MAX_IMAGES + ' images per message.');
        break;
      }
      if (!IMAGE_TYPES.includes(file.type)) {
        showError('chat-error', '"' + name + '" is not a PNG, JPEG, GIF or WebP image.');
        continue;
      }
      if (file.size > MAX_FILE_BYTES) {
        showError('chat-error', '"' + name + '" is ' + (file.size / 1048576).toFixed(1)
          + ' MB; images larger than 4 MB cannot be attached.');
        continue;
      }
      try {
        let url = await readAsDataUrl(file);
        if (url.length > MAX_IMAGE_CHARS) {
          url = await downscale(url);
          if (!url) {
            showError('chat-error', '"' + name + '" is too large to send, even made smaller.');
            continue;
          }
        }
        attachments.push({ url, name });
      } catch (e) {
        showError('chat-error', 'Could not read "' + name + '": ' + e.message);
      }
    }
    renderAttachments();
  }

  function renderAttachments() {
    const box = $('attachments');
    box.innerHTML = '';
    attachments.forEach((a, i) => {
      const div = document.createElement('div');
      div.className = 'thumb';
      const img = document.createElement('img');
      img.src = a.url;
      img.alt = 'Attached: ' + a.name;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.setAttribute('aria-label', 'Remove ' + a.name);
      remove.onclick = () => { attachments.splice(i, 1); renderAttachments(); $('input').focus(); };
      div.append(img, remove);
      box.appendChild(div);
    });
    box.hidden = attachments.length === 0;
  }

  // ---------- a turn ----------
  function send(text) {
    if (!socket || streaming || (!text.trim() && !attachments.length)) {
      return false;
    }
    const images = attachments.map((a) => a.url);
    if (images.reduce((n, u) => n + u.length, 0) > MAX_MESSAGE_IMAGE_CHARS) {
      showError('chat-error', 'These images are too large to send together; remove one.');
      return false;
    }
    showError('chat-error', '');
    addUserMessage(text, images);
    if (!store.titles()[current.id]) {
      store.setTitle(current.id, titleFrom(text, images));
    }
    serverIds = [current.id].concat(serverIds.filter((i) => i !== current.id));
    renderList();
    const id = 't' + (++turnCounter);
    const { element, body } = addMessage('assistant');
    element.classList.add('streaming');
    streaming = { id, element, body, text: '', frame: 0, lastRender: 0, cost: 0 };
    $('send').hidden = true;
    $('stop').hidden = false;
    const chat = { type: 'chat', id, conversation_id: current.id, model: $('model').value };
    if (images.length) {
      const content = text.trim() ? [{ type: 'text', text }] : [];
      for (const url of images) {
        content.push({ type: 'image_url', image_url: { url } });
      }
      chat.messages = [{ role: 'user', content }];
    } else {
      chat.message = text;
    }
    socket.send(JSON.stringify(chat));
    attachments = [];
    renderAttachments();
    element.scrollIntoView({ block: 'end' });
    return true;
  }

  /** Re-renders the Markdown of the text so far at most once per animation frame (less when it is long). */
  function scheduleRender() {
    const s = streaming;
    if (s.frame) {
      return;
    }
    s.frame = requestAnimationFrame(() => {
      s.frame = 0;
      if (streaming !== s) {
        return;
      }
      if (performance.now() - s.lastRender < s.cost * 4) {
        scheduleRender();
        return;
      }
      renderNow(s);
    });
  }

  function renderNow(s) {
    const follow = nearBottom();
    const start = performance.now();
    renderMarkdown(s.body, s.text);
    s.lastRender = performance.now();
    s.cost = s.lastRender - start;
    if (follow) {
      $('messages').scrollTop = $('messages').scrollHeight;
    }
  }

  function handle(message) {
    if (!streaming || (message.id && message.id !== streaming.id)) {
      if (message.type === 'error' && (!message.id || message.id === 't' + turnCounter)) {
        showError('chat-error', message.error.message);
      }
      return;
    }
    switch (message.type) {
      case 'started':
        if (current && message.conversation_id === current.id) {
          current.fresh = false;
        }
        break;
      case 'delta':
        streaming.text += message.text;
        scheduleRender();
        break;
      case 'done':
      case 'cancelled':
        finishStreaming();
        refreshConversations();
        break;
      case 'error':
        showError('chat-error', message.error.message);
        finishStreaming();
        refreshConversations();
        break;
    }
  }

  function finishStreaming() {
    const s = streaming;
    streaming = null;
    if (s.frame) {
      cancelAnimationFrame(s.frame);
    }
    s.element.classList.remove('streaming');
    if (s.text) {
      renderNow(s);
    } else {
      s.element.remove();
    }
    $('send').hidden = false;
    $('stop').hidden = true;
  }

  // ---------- wiring ----------
  $('signin-form').onsubmit = (e) => { e.preventDefault(); signIn($('api-key').value.trim()); };
  $('composer').onsubmit = (e) => {
    e.preventDefault();
    if (send($('input').value)) {
      $('input').value = '';
    }
  };
  $('input').onkeydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  };
  $('input').addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.items || [])].filter((i) => i.kind === 'file' && i.type.startsWith('image/'))
      .map((i) => i.getAsFile()).filter(Boolean);
    if (files.length) {
      e.preventDefault();
      attach(files);
    }
  });
  $('file').onchange = () => { attach([...$('file').files]); $('file').value = ''; };
  $('chat').addEventListener('dragover', (e) => { if (e.dataTransfer?.types.includes('Files')) { e.preventDefault(); } });
  $('chat').addEventListener('drop', (e) => {
    if (e.dataTransfer?.files.length) {
      e.preventDefault();
      attach([...e.dataTransfer.files]);
    }
  });
  $('stop').onclick = () => {
    if (socket && streaming) {
      socket.send(JSON.stringify({ type: 'cancel', id: streaming.id }));
    }
  };
  $('model').onchange = () => store.setModel($('model').value);
  $('new-conversation').onclick = () => newConversation();
  $('signout').onclick = () => {
    store.setKey(null);
    sessionStorage.removeItem('switchboard.current');
    if (socket) {
      socket.close();
    }
    location.reload();
  };

  if (store.key() !== null) {
    signIn(store.key());
  }
})();
