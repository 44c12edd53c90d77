// A notebook saved in JupyterLab or Notebook 7 and reopened later shows each view's last state
// instead of "Error displaying widget: model not found".
//
// Jupyter keeps widget state in a notebook only when "Save Widget State Automatically" is on
// (off by default). When it is off, on every save this writes the state of the mlflow-magics
// views that the notebook's outputs still show (and the layout/style models they refer to) into
// the notebook's widget-state metadata, the same place and format Jupyter uses (a view with a
// detail area is a box holding the view: the box and all it holds are kept). On reopening,
// Jupyter's widget manager restores those models and the views render from them, read-only
// until the cell runs again. Other libraries' widgets are left as Jupyter would leave them.
//
// This reads the notebook widget manager that anywidget hands each view (`widget_manager`): its
// `context` (the notebook's document context, with `saveState` and `model`) and
// `get_state_sync`. They exist in @jupyter-widgets/jupyterlab-manager 5 (ipywidgets 8); where
// they are missing (VS Code, Colab, classic Notebook), this does nothing.

const STATE_MIME = "application/vnd.jupyter.widget-state+json";
const VIEW_MIME = "application/vnd.jupyter.widget-view+json";
const OURS = /^mlflow_magics\./;

/** @type {WeakSet<object>} */
const hooked = new WeakSet();

/**
 * Model ids shown by the notebook's outputs.
 * @param {{cells?: Array<{outputs?: Array<{data?: Record<string, any>}>}>}} nb nbformat JSON
 */
export function shownModelIds(nb) {
  const ids = new Set();
  for (const cell of nb.cells || []) {
    for (const out of cell.outputs || []) {
      const view = out.data && out.data[VIEW_MIME];
      if (view && view.model_id) ids.add(view.model_id);
    }
  }
  return ids;
}

/**
 * The part of a widget-state snapshot to keep: each shown model that is one of our views or
 * holds one (a view with its detail area is a box of widgets), with every model it refers to
 * ("IPY_MODEL_<id>" in its state), transitively.
 * @param {Record<string, {state?: Record<string, any>}>} state @param {Set<string>} shown
 */
export function keptState(state, shown) {
  /** @type {Record<string, any>} */
  const kept = {};
  /** @param {string} id */
  const closure = (id) => {
    /** @type {Set<string>} */
    const seen = new Set();
    const queue = [id];
    while (queue.length) {
      const next = /** @type {string} */ (queue.pop());
      if (seen.has(next) || !state[next]) continue;
      seen.add(next);
      const refs = JSON.stringify(state[next].state ?? {}).match(/IPY_MODEL_[0-9a-f]+/g) || [];
      for (const ref of refs) queue.push(ref.slice("IPY_MODEL_".length));
    }
    return seen;
  };
  for (const id of shown) {
    const models = closure(id);
    if (![...models].some((m) => OURS.test(String(state[m].state?._anywidget_id ?? "")))) continue;
    for (const m of models) kept[m] = state[m];
  }
  return kept;
}

/**
 * Save our views' state with the notebook this model's manager belongs to (once per manager).
 * @param {any} model anywidget's model
 */
export function persistOnSave(model) {
  const manager = model && model.widget_manager;
  const context = manager && manager.context;
  if (!context || !context.saveState || typeof manager.get_state_sync !== "function" || hooked.has(manager)) return;
  hooked.add(manager);
  context.saveState.connect(/** @param {unknown} _ @param {string} phase */ (_, phase) => {
    if (phase !== "started") return;
    if (manager._settings && manager._settings.saveState) return; // Jupyter saves everything itself
    try {
      const nbModel = context.model;
      const snapshot = manager.get_state_sync({ drop_defaults: true });
      const kept = keptState(snapshot.state || {}, shownModelIds(nbModel.toJSON()));
      const value = { [STATE_MIME]: { ...snapshot, state: kept } };
      if (nbModel.setMetadata) nbModel.setMetadata("widgets", value);
      else nbModel.metadata.set("widgets", value);
    } catch (err) {
      console.warn("mlflow-magics: could not keep the views' state in the notebook", err);
    }
  });
}
