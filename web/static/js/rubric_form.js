// The rubric editor's form (web/rubric_form.py): "Add a category" appends an empty row from
// the page's <template>; rows are removed with their "Remove this category" checkbox.
(() => {
  const button = document.getElementById("add-category");
  const template = document.getElementById("category-template");
  const list = document.getElementById("rubric-categories");
  if (!button || !template || !list) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const used = [...list.querySelectorAll(".rubric-category")].map((f) => Number(f.dataset.index));
    const index = String(Math.max(0, ...used) + 1);
    const row = template.content.firstElementChild.cloneNode(true);
    row.dataset.index = index;
    row.querySelectorAll("[name]").forEach((field) => {
      field.name = field.name.replace("__index__", index);
      if (field.name === "category") field.value = index;
    });
    list.append(row);
    row.querySelector("input[name$='-key']").focus();
  });
})();
