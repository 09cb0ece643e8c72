// The segment builder (/staff/segments/new): each condition the marketer adds becomes a node
// of the segment definition JSON (lojal.segments.definition); the definition is written into
// the form's "definition" field and counted live by POST /staff/segments/preview. No library.
"use strict";

(function () {
  const form = document.getElementById("builder");
  if (!form) return;
  const fields = JSON.parse(form.dataset.fields);
  const list = document.getElementById("conditions");
  const combine = document.getElementById("combine");
  const output = document.getElementById("count");
  const problem = document.getElementById("count-problem");
  const definition = document.getElementById("definition");
  const csrf = form.querySelector("input[name=csrf]").value;
  const OPS = {
    number: [["gte", "at least"], ["lte", "at most"], ["gt", "more than"], ["lt", "less than"],
             ["eq", "equal to"], ["ne", "not equal to"]],
    text: [["eq", "is"], ["ne", "is not"]],
    choice: [["eq", "is"], ["ne", "is not"]],
    bool: [["eq", "is"]],
  };
  let serial = 0;
  let timer = null;
  let asked = 0;

  function element(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function labelled(control, text, id) {
    control.id = id;
    return [element("label", { for: id, text: text }), control];
  }

  function select(options, value) {
    const node = element("select");
    for (const [key, text] of options) {
      const option = element("option", { value: key, text: text });
      if (key === value) option.selected = true;
      node.appendChild(option);
    }
    return node;
  }

  function numberInput(value, min) {
    return element("input", { type: "number", value: String(value), min: String(min), step: "any",
                              inputmode: "decimal" });
  }

  function fieldValueControl(field) {
    if (field.kind === "bool") return select([["true", "given"], ["false", "not given"]], "true");
    if (field.kind === "choice") return select(field.choices.map((c) => [c, c.replace(/_/g, " ")]));
    if (field.kind === "number") return numberInput(0);
    return element("input", { type: "text" });
  }

  // Each row keeps a function that reads its controls into a definition node.
  function addRow(kind) {
    serial += 1;
    const n = serial;
    const item = element("li", { "data-kind": kind });
    const row = element("div", { class: "row" });
    let read;
    if (kind === "field") {
      const which = select(fields.map((f) => [f.path, f.label]));
      const holder = element("span", { class: "row" });
      const build = () => {
        const field = fields.find((f) => f.path === which.value);
        const op = select(OPS[field.kind]);
        const value = fieldValueControl(field);
        holder.replaceChildren(
          ...labelled(op, `Condition ${n}: comparison`, `c${n}-op`),
          ...labelled(value, `Condition ${n}: value`, `c${n}-value`),
        );
        read = () => {
          let v = value.value;
          if (field.kind === "number") v = Number(v);
          if (field.kind === "bool") v = v === "true";
          return { field: field.path, op: op.value, value: v };
        };
      };
      which.addEventListener("change", () => { build(); changed(); });
      row.append(...labelled(which, `Condition ${n}: member field`, `c${n}-field`), holder);
      build();
    } else if (kind === "purchases") {
      const measure = select([["count", "number of purchases"], ["sum", "total spent (minor units)"]]);
      const days = numberInput(365, 1);
      const op = select(OPS.number);
      const value = numberInput(1, 0);
      row.append(
        ...labelled(measure, `Condition ${n}: measure`, `c${n}-measure`),
        ...labelled(days, `Condition ${n}: over the last days`, `c${n}-days`),
        ...labelled(op, `Condition ${n}: comparison`, `c${n}-op`),
        ...labelled(value, `Condition ${n}: value`, `c${n}-value`),
      );
      read = () => {
        const node = { activity: "purchases", within: { last_days: Number(days.value) },
                       measure: measure.value, op: op.value, value: Number(value.value) };
        if (measure.value === "sum") node.of = "purchase.total_minor";
        return node;
      };
    } else if (kind === "no-purchases") {
      const days = numberInput(90, 1);
      row.append(...labelled(days, `Condition ${n}: no purchase in the last days`, `c${n}-days`));
      read = () => ({ activity: "purchases", within: { last_days: Number(days.value) },
                      measure: "none" });
    } else if (kind === "enrolled") {
      const days = numberInput(30, 1);
      row.append(...labelled(days, `Condition ${n}: enrolled in the last days`, `c${n}-days`));
      read = () => ({ date: "member.enrolled_at", within: { last_days: Number(days.value) } });
    } else {
      const days = numberInput(7, 0);
      row.append(...labelled(days, `Condition ${n}: birthday within the next days`, `c${n}-days`));
      read = () => ({ birthday: { in_days: [0, Number(days.value)] } });
    }
    const remove = element("button", { type: "button", class: "remove",
                                        "aria-label": `Remove condition ${n}`, text: "Remove" });
    remove.addEventListener("click", () => { item.remove(); changed(); });
    row.appendChild(remove);
    item.appendChild(row);
    item.read = () => read();
    list.appendChild(item);
    const first = item.querySelector("select, input");
    if (first) first.focus();
    changed();
  }

  function current() {
    const nodes = Array.from(list.children).map((item) => item.read());
    if (nodes.length === 0) return null;
    return { [combine.value]: nodes };
  }

  function changed() {
    const tree = current();
    definition.value = tree ? JSON.stringify(tree, null, 2) : "";
    clearTimeout(timer);
    if (!tree) {
      output.value = "–";
      problem.textContent = "";
      return;
    }
    output.value = "counting…";
    timer = setTimeout(() => count(tree), 250);
  }

  async function count(tree) {
    asked += 1;
    const mine = asked;
    try {
      const answer = await fetch("/staff/segments/preview", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ definition: tree }),
        credentials: "same-origin",
      });
      const body = await answer.json();
      if (mine !== asked) return; // a newer question is on its way
      if (answer.ok) {
        output.value = `${body.count.toLocaleString("en-GB")} members`;
        problem.textContent = "";
      } else {
        output.value = "–";
        problem.textContent = body.detail || "The definition was refused.";
      }
    } catch (error) {
      if (mine !== asked) return;
      output.value = "–";
      problem.textContent = "The count could not be fetched.";
    }
  }

  document.getElementById("add").addEventListener("click", () => {
    addRow(document.getElementById("add-kind").value);
  });
  list.addEventListener("input", changed);
  list.addEventListener("change", changed);
  combine.addEventListener("change", changed);
  form.addEventListener("submit", (event) => {
    if (!current()) {
      event.preventDefault();
      problem.textContent = "Add at least one condition.";
    }
  });
})();
