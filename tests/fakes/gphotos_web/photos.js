// The imitation's item viewer: renders what photos.google.com shows for one item, after
// the delay the test asked for, and behaves like it (info panel, trash, dialog, toast).
(function () {
  const P = window.PAGE, T = P.t, app = document.getElementById('app');
  const el = (tag, attrs, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'on') node.addEventListener('click', v); else node.setAttribute(k, v);
    }
    for (const kid of kids) node.append(kid);
    return node;
  };
  const toolbar = (...buttons) => el('div', {role: 'toolbar', 'aria-label': T.actions}, ...buttons);

  function itemView() {
    const panel = el('aside', {hidden: ''}, el('h2', {}, T.info));
    if (P.name) panel.append(el('div', {'aria-label': T.file_name + P.name}, P.name));
    if (P.date) panel.append(el('div', {'aria-label': T.date_taken + P.date}, P.date));
    const info = el('button', {'aria-label': T.info, 'aria-expanded': 'false', on: () => {
      panel.hidden = !panel.hidden;
      info.setAttribute('aria-expanded', String(!panel.hidden));
    }}, 'i');
    const trash = el('button', {'aria-label': T.trash, on: () => {
      if (P.no_dialog) return;  // a click that never brings up the dialog
      setTimeout(showDialog, 120);
    }}, '🗑');
    return el('div', {role: 'main'},
      toolbar(el('button', {'aria-label': T.back}, '←'), info,
              el('button', {'aria-label': T.favorite}, '☆'),
              el('div', {'data-delete-origin': '1'}, trash)),
      el('div', {class: 'viewer'}, el('img', {alt: T.photo}), panel));
  }

  function showDialog() {
    const confirm = el('button', {autofocus: '', on: async () => {
      if (P.dead_confirm) return;  // the confirm button does nothing
      const answer = await fetch('/_/rpc/trash', {method: 'POST', body: JSON.stringify({id: P.id}),
        headers: {'content-type': 'application/json'}});
      dialog.remove();
      if (!answer.ok) return;
      app.replaceChildren(el('div', {role: 'main'}, el('p', {}, T.photos)));
      if (!P.no_toast) {
        document.body.append(el('div', {role: 'status', 'aria-live': 'polite'},
                                T.toast, ' ', el('button', {}, T.undo)));
      }
    }}, T.confirm);
    const dialog = el('div', {role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'dt'},
      el('h2', {id: 'dt'}, T.dialog_title), el('p', {}, T.dialog_text),
      el('button', {on: () => dialog.remove()}, T.cancel), confirm);
    document.body.append(dialog);
  }

  function trashView() {
    return el('div', {role: 'main'},
      toolbar(el('button', {'aria-label': T.back}, '←'),
              el('button', {'aria-label': T.restore}, T.restore),
              el('button', {'aria-label': T.delete_forever}, T.delete_forever)),
      el('p', {}, T.in_trash_note), el('div', {class: 'viewer'}, el('img', {alt: T.photo})));
  }

  function cantAccess() {
    return el('div', {role: 'main'}, el('h1', {}, T.cant_access), el('p', {}, T.cant_access_note));
  }

  setTimeout(() => {
    const view = {item: itemView, trash: trashView, gone: cantAccess}[P.view]();
    app.replaceChildren(view);
    app.setAttribute('aria-busy', 'false');
  }, P.delay_ms);
})();
