// mail.js: progressive enhancement of the webmail's compose form. Every feature here has a plain-form
// equivalent; without this file the form posts as before. No inline script, no eval (the CSP forbids both).
"use strict";

(function () {
  var form = document.querySelector("form.compose");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  // The form's buttons are named "action", which shadows form.action: read the attribute.
  var target = new URL(form.getAttribute("action"), location.href).href;
  autocomplete(form);
  autosave(form);
  uploadProgress(form);

  // autocomplete lists directory entries under the To, Cc and Bcc fields for the last recipient being typed.
  function autocomplete(form) {
    ["to", "cc", "bcc"].forEach(function (name) {
      var input = form.elements[name];
      if (!input) {
        return;
      }
      var list = document.createElement("ul");
      list.className = "suggest";
      list.hidden = true;
      input.parentNode.appendChild(list);
      var timer = null, asked = "";
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { suggest(input, list); }, 200);
      });
      input.addEventListener("blur", function () {
        setTimeout(function () { list.hidden = true; }, 200); // let a click on a suggestion land first
      });
      function suggest(input, list) {
        var q = lastPiece(input.value);
        if (q.length < 2 || q === asked) {
          list.hidden = q.length < 2 || list.hidden;
          return;
        }
        asked = q;
        fetch("/mail/contacts?q=" + encodeURIComponent(q), {headers: {Accept: "application/json"},
          credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (found) { show(input, list, found); })
          .catch(function () { list.hidden = true; });
      }
    });
  }

  function lastPiece(value) {
    var pieces = value.split(/[,;]/);
    return pieces[pieces.length - 1].trim();
  }

  function show(input, list, found) {
    list.textContent = "";
    found.forEach(function (c) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = c.name && c.name !== c.address ? c.name + " <" + c.address + ">" : c.address;
      button.addEventListener("mousedown", function (e) {
        e.preventDefault(); // keep the focus in the field
        var pieces = input.value.split(/[,;]/);
        pieces[pieces.length - 1] = " " + recipient(c);
        input.value = pieces.join(",").replace(/^\s+/, "") + ", ";
        list.hidden = true;
        input.focus();
        input.dispatchEvent(new Event("change", {bubbles: true}));
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = found.length === 0;
  }

  // recipient writes an address as the form's parser reads it: a name in quotes when it has one.
  function recipient(c) {
    if (!c.name || c.name === c.address) {
      return c.address;
    }
    return "\"" + c.name.replace(/["\\]/g, "") + "\" <" + c.address + ">";
  }

  // autosave saves the form as a draft every 30 s while it has changed, without its new uploads (those go with
  // the send or the save button), and takes the new draft's number and attachments from the JSON answer.
  function autosave(form) {
    var changed = false, busy = false;
    form.addEventListener("input", function () { changed = true; });
    form.addEventListener("change", function () { changed = true; });
    setInterval(function () {
      if (!changed || busy) {
        return;
      }
      changed = false;
      busy = true;
      var data = new FormData(form);
      data.delete("attach");
      data.set("action", "save");
      fetch(target, {method: "POST", body: data, headers: {Accept: "application/json"},
        credentials: "same-origin"})
        .then(function (r) {
          if (!r.ok) {
            throw new Error("status " + r.status);
          }
          return r.json();
        })
        .then(function (saved) {
          form.elements.draft.value = String(saved.draft);
          showCarried(form, saved.carried, saved.legend);
          form.dataset.savedDraft = String(saved.draft);
        })
        .catch(function () { changed = true; }) // try again at the next tick
        .finally(function () { busy = false; });
    }, 30000);
  }

  // showCarried replaces the form's list of kept attachments with the saved draft's.
  function showCarried(form, carried, legendText) {
    var box0 = form.querySelector("input[name=keep]");
    var old = box0 && box0.closest("fieldset");
    if (old) {
      old.remove();
    }
    if (!carried.length) {
      return;
    }
    var set = document.createElement("fieldset");
    var legend = document.createElement("legend");
    legend.textContent = legendText;
    set.appendChild(legend);
    carried.forEach(function (f) {
      var label = document.createElement("label");
      label.className = "check";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "keep";
      box.value = f.path;
      box.checked = true;
      var size = document.createElement("span");
      size.className = "meta";
      size.textContent = f.size;
      label.append(box, " " + f.name + " ", size);
      set.appendChild(label);
    });
    var attach = form.elements.attach;
    attach.closest("label").before(set);
  }

  // uploadProgress sends a form with files through XMLHttpRequest to show the upload's progress, then shows
  // the answer as the plain post would. Without upload events the form posts itself.
  function uploadProgress(form) {
    var attach = form.elements.attach;
    var xhr0 = new XMLHttpRequest();
    if (!attach || !xhr0.upload) {
      return;
    }
    var bar = document.createElement("progress");
    bar.className = "upload";
    bar.max = 100;
    bar.value = 0;
    bar.hidden = true;
    attach.closest("label").after(bar);
    form.addEventListener("submit", function (e) {
      if (!attach.files.length) {
        return; // nothing to watch: the plain post
      }
      e.preventDefault();
      var data = new FormData(form);
      if (e.submitter && e.submitter.name) {
        data.set(e.submitter.name, e.submitter.value);
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", target);
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) {
          bar.value = Math.round(100 * p.loaded / p.total);
        }
      });
      xhr.addEventListener("load", function () {
        // The answer is a page (the folder after sending, the form again, or an error): show it as the browser
        // would have, at the address it ended on.
        if (xhr.responseURL && xhr.responseURL !== target) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        bar.hidden = true;
        form.submit(); // the plain post
      });
      bar.hidden = false;
      xhr.send(data);
    });
  }
})();
