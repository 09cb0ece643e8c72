// The segment builder (/staff/segments/new, and /staff/segments/<code>/edit for a saved one):
// each condition the marketer adds becomes a node of the segment definition JSON
// (lojal.segments.definition); the definition is written into the form's "definition" field
// and counted live by POST /staff/segments/preview. A saved definition is read back into rows
// when the builder can show every condition of it; otherwise its JSON is edited as text.
// No library.
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
  let textual = false;
  const asTextNow = () => textual;
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

  // Each row keeps a function that reads its controls into a definition node; ``preset`` (a
  // saved node) fills the controls.
  function addRow(kind, preset) {
    const p = preset || null;
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
        const op = select(OPS[field.kind], p && p.field === field.path ? p.op : undefined);
        const value = fieldValueControl(field);
        if (p && p.field === field.path) value.value = String(p.value);
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
      if (p) which.value = p.field;
      which.addEventListener("change", () => { build(); changed(); });
      row.append(...labelled(which, `Condition ${n}: member field`, `c${n}-field`), holder);
      build();
    } else if (kind === "purchases") {
      const measure = select([["count", "number of purchases"], ["sum", "total spent (minor units)"]],
                             p ? p.measure : undefined);
      const days = numberInput(p ? p.within.last_days : 365, 1);
      const op = select(OPS.number, p ? p.op : undefined);
      const value = numberInput(p ? p.value : 1, 0);
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
      const days = numberInput(p ? p.within.last_days : 90, 1);
      row.append(...labelled(days, `Condition ${n}: no purchase in the last days`, `c${n}-days`));
      read = () => ({ activity: "purchases", within: { last_days: Number(days.value) },
                      measure: "none" });
    } else if (kind === "enrolled") {
      const days = numberInput(p ? p.within.last_days : 30, 1);
      row.append(...labelled(days, `Condition ${n}: enrolled in the last days`, `c${n}-days`));
      read = () => ({ date: "member.enrolled_at", within: { last_days: Number(days.value) } });
    } else {
      const days = numberInput(p ? p.birthday.in_days[1] : 7, 0);
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
    if (p) return;
    const first = item.querySelector("select, input");
    if (first) first.focus();
    changed();
  }

  // The row kind that shows a saved node, or null when the builder cannot show it.
  function kindOf(node) {
    const keys = Object.keys(node).sort().join(",");
    const last = node.within && Object.keys(node.within).join(",") === "last_days";
    if (keys === "field,op,value" && fields.some((f) => f.path === node.field)) return "field";
    if (node.activity === "purchases" && last && node.measure === "none" &&
        keys === "activity,measure,within") return "no-purchases";
    if (node.activity === "purchases" && last && node.measure === "count" &&
        keys === "activity,measure,op,value,within") return "purchases";
    if (node.activity === "purchases" && last && node.measure === "sum" &&
        node.of === "purchase.total_minor" && keys === "activity,measure,of,op,value,within") {
      return "purchases";
    }
    if (node.date === "member.enrolled_at" && last && keys === "date,within") return "enrolled";
    if (keys === "birthday" && Array.isArray(node.birthday.in_days) &&
        node.birthday.in_days[0] === 0 && Object.keys(node.birthday).length === 1) {
      return "birthday";
    }
    return null;
  }

  function load(text) {
    let tree;
    try { tree = JSON.parse(text); } catch (error) { return false; }
    const how = tree && Object.keys(tree).length === 1 ? Object.keys(tree)[0] : null;
    if (how !== "all" && how !== "any" || !Array.isArray(tree[how])) return false;
    const kinds = tree[how].map(kindOf);
    if (kinds.includes(null)) return false;
    combine.value = how;
    tree[how].forEach((node, i) => addRow(kinds[i], node));
    changed();
    return true;
  }

  function current() {
    const nodes = Array.from(list.children).map((item) => item.read());
    if (nodes.length === 0) return null;
    return { [combine.value]: nodes };
  }

  function changed() {
    const tree = current();
    if (!tree && asTextNow()) return; // the saved JSON stays until a condition is added
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

  const saved = definition.value.trim();
  const asText = saved !== "" && !load(saved);
  textual = asText;
  if (asText) { // conditions the builder cannot show: the JSON is edited as it is
    definition.readOnly = false;
    form.querySelector("details").open = true;
    problem.textContent = "The builder cannot show every condition of this segment: edit its definition below.";
  }

  document.getElementById("add").addEventListener("click", () => {
    addRow(document.getElementById("add-kind").value);
  });
  list.addEventListener("input", changed);
  list.addEventListener("change", changed);
  combine.addEventListener("change", changed);
  form.addEventListener("submit", (event) => {
    if (!current() && !(asText && list.children.length === 0)) {
      event.preventDefault();
      problem.textContent = "Add at least one condition.";
    }
  });
})();
