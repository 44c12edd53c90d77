// A stand-in for anywidget's model in unit tests: traits in a plain object, events recorded.
export function fakeModel(state = {}) {
  const handlers = new Map();
  const model = {
    state,
    sent: [],
    saved: 0,
    get: (k) => state[k],
    set(k, v) {
      state[k] = v;
      model.emit(`change:${k}`);
    },
    save_changes() {
      model.saved += 1;
    },
    send(msg) {
      model.sent.push(msg);
    },
    on(event, fn) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event).add(fn);
    },
    off(event, fn) {
      handlers.get(event)?.delete(fn);
    },
    emit(event, ...args) {
      for (const fn of handlers.get(event) || []) fn(...args);
    },
    listeners: (event) => (handlers.get(event) || new Set()).size,
  };
  return model;
}

/** Render `widget` into a fresh element; returns {el, model, cleanup}. */
export function mount(widget, state) {
  const el = document.createElement("div");
  document.body.append(el);
  const model = fakeModel(state);
  const cleanup = widget.render({ model, el });
  return { el, model, cleanup };
}

export const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>`;
