// Messages between a widget and its Python side, and the model listeners every widget keeps.
//
// A control sends {action, id, ...}; Python does what a script calling the same method would,
// then replies {done: action, id, error}: `error` is the one sentence the user sees when the
// action was refused (also in the widget's `error` trait), "" otherwise. The widget is busy
// (class `busy`, aria-busy) while any request is unanswered.

/** @typedef {{done: string, id?: number, error?: string}} Reply */

/**
 * @param {{send: (msg: any) => void, on: (name: string, cb: (...args: any[]) => void) => void,
 *          off: (name: string, cb: (...args: any[]) => void) => void}} model
 * @param {HTMLElement} root
 */
export function channel(model, root) {
  let last = 0;
  /** @type {Map<number, (reply: Reply) => void>} */
  const pending = new Map();
  const busy = () => {
    const on = pending.size > 0;
    root.classList.toggle("busy", on);
    root.setAttribute("aria-busy", String(on));
  };
  /** @param {any} msg */
  const onMsg = (msg) => {
    if (!msg || typeof msg !== "object" || !("done" in msg)) return;
    const reply = /** @type {Reply} */ (msg);
    const settle = reply.id !== undefined ? pending.get(reply.id) : undefined;
    if (settle) {
      pending.delete(/** @type {number} */ (reply.id));
      settle(reply);
    } else if (reply.id === undefined) {
      // a reply without an id answers everything sent so far
      for (const done of pending.values()) done(reply);
      pending.clear();
    }
    busy();
  };
  model.on("msg:custom", onMsg);
  return {
    /**
     * Send `msg` ({action, ...}); resolves with Python's reply.
     * @param {{action: string} & Record<string, unknown>} msg
     * @returns {Promise<Reply>}
     */
    send(msg) {
      const id = ++last;
      const answered = new Promise((resolve) => pending.set(id, resolve));
      busy();
      model.send({ ...msg, id });
      return /** @type {Promise<Reply>} */ (answered);
    },
    /** How many requests wait for an answer. */
    get waiting() {
      return pending.size;
    },
    dispose() {
      model.off("msg:custom", onMsg);
      pending.clear();
    },
  };
}

/**
 * Subscribe `handlers` ({"change:page": fn, ...}) to `model`; returns the unsubscribe.
 * @param {{on: (name: string, cb: () => void) => void, off: (name: string, cb: () => void) => void}} model
 * @param {Record<string, () => void>} handlers
 */
export function listen(model, handlers) {
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);
  return () => {
    for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
  };
}
