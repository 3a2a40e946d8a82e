// Switchboard web chat: one WebSocket to /v1/ws, answers streamed as they are generated.
// Nothing is fetched from outside the gateway. Conversations are listed from this browser's storage;
// their memory lives in the gateway (by conversation id).
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const store = {
    key: () => sessionStorage.getItem('switchboard.key'),
    setKey: (k) => k === null ? sessionStorage.removeItem('switchboard.key') : sessionStorage.setItem('switchboard.key', k),
    conversations: () => JSON.parse(localStorage.getItem('switchboard.conversations') || '[]'),
    save: (list) => localStorage.setItem('switchboard.conversations', JSON.stringify(list)),
  };
  let socket = null;
  let current = null;          // the conversation on screen: {id, title, messages: [{role, content}]}
  let streaming = null;        // {id, element, text}
  let turnCounter = 0;

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
      const message = JSON.parse(event.data);
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
        showError('signin-error', event.code === 4401
          ? 'The gateway refused this API key.' : 'Could not reach the gateway (' + (event.reason || event.code) + ').');
        return;
      }
      socket = null;
      if (streaming) {
        finishStreaming();
      }
      showError('chat-error', event.code === 4409 ? 'Disconnected: ' + event.reason
        : 'The connection to the gateway closed (' + (event.reason || event.code) + '). Sign in again to go on.');
      $('send').disabled = true;
    };
  }

  async function enterApp() {
    $('signin').hidden = true;
    $('app').hidden = false;
    $('send').disabled = false;
    showError('chat-error', '');
    await loadModels();
    const list = store.conversations();
    if (list.length) {
      open(list[0].id);
    } else {
      newConversation();
    }
  }

  async function loadModels() {
    const headers = store.key() ? { authorization: 'Bearer ' + store.key() } : {};
    try {
      const response = await fetch('/v1/models', { headers });
      const body = await response.json();
      const select = $('model');
      select.innerHTML = '';
      for (const model of body.data || []) {
        const option = document.createElement('option');
        option.value = model.id;
        option.textContent = model.id + (model.owned_by === 'switchboard-simulator' ? ' (simulator)' : '');
        select.appendChild(option);
      }
    } catch (e) {
      showError('chat-error', 'Could not list the models: ' + e.message);
    }
  }

  function renderList() {
    const ul = $('conversations');
    ul.innerHTML = '';
    for (const c of store.conversations()) {
      const li = document.createElement('li');
      li.textContent = c.title || 'New conversation';
      li.dataset.id = c.id;
      li.className = current && current.id === c.id ? 'active' : '';
      li.onclick = () => open(c.id);
      ul.appendChild(li);
    }
  }

  function newConversation() {
    const id = 'web-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8);
    const list = store.conversations();
    list.unshift({ id, title: '', messages: [] });
    store.save(list);
    open(id);
  }

  function open(id) {
    showError('chat-error', '');
    current = store.conversations().find((c) => c.id === id);
    $('messages').innerHTML = '';
    for (const m of current.messages) {
      addMessage(m.role, m.content);
    }
    renderList();
  }

  function persist() {
    const list = store.conversations().filter((c) => c.id !== current.id);
    list.unshift(current);
    store.save(list);
    renderList();
  }

  function addMessage(role, text) {
    const div = document.createElement('div');
    div.className = 'message ' + role;
    div.textContent = text;
    $('messages').appendChild(div);
    div.scrollIntoView({ block: 'end' });
    return div;
  }

  function send(text) {
    if (!socket || streaming || !text.trim()) {
      return;
    }
    showError('chat-error', '');
    addMessage('user', text);
    current.messages.push({ role: 'user', content: text });
    if (!current.title) {
      current.title = text.slice(0, 40);
    }
    persist();
    const id = 't' + (++turnCounter);
    streaming = { id, element: addMessage('assistant', ''), text: '' };
    streaming.element.classList.add('streaming');
    $('send').hidden = true;
    $('stop').hidden = false;
    socket.send(JSON.stringify({ type: 'chat', id, conversation_id: current.id, model: $('model').value, message: text }));
  }

  function handle(message) {
    if (!streaming || (message.id && message.id !== streaming.id)) {
      if (message.type === 'error') {
        showError('chat-error', message.error.message);
      }
      return;
    }
    switch (message.type) {
      case 'delta':
        streaming.text += message.text;
        streaming.element.textContent = streaming.text;
        streaming.element.scrollIntoView({ block: 'end' });
        break;
      case 'done':
      case 'cancelled':
        finishStreaming();
        break;
      case 'error':
        showError('chat-error', message.error.message);
        finishStreaming();
        break;
    }
  }

  function finishStreaming() {
    streaming.element.classList.remove('streaming');
    if (streaming.text) {
      current.messages.push({ role: 'assistant', content: streaming.text });
      persist();
    } else {
      streaming.element.remove();
    }
    streaming = null;
    $('send').hidden = false;
    $('stop').hidden = true;
  }

  $('signin-form').onsubmit = (e) => { e.preventDefault(); signIn($('api-key').value.trim()); };
  $('composer').onsubmit = (e) => { e.preventDefault(); send($('input').value); $('input').value = ''; };
  $('input').onkeydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  };
  $('stop').onclick = () => socket && streaming && socket.send(JSON.stringify({ type: 'cancel', id: streaming.id }));
  $('new-conversation').onclick = () => !streaming && newConversation();
  $('signout').onclick = () => { store.setKey(null); if (socket) { socket.close(); } location.reload(); };

  if (store.key() !== null) {
    signIn(store.key());
  }
})();
