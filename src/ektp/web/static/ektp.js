// Progressive enhancement only: every page works without this script.
// A region select (data-cascade) refreshes the form on change, as its "Update choices" button does.
document.addEventListener("change", (event) => {
  const select = event.target.closest && event.target.closest("select[data-cascade]");
  if (!select || !select.form) return;
  const refresh = select.form.querySelector('button[name="refresh"]');
  if (!refresh) return;
  if (typeof select.form.requestSubmit === "function") select.form.requestSubmit(refresh);
  else refresh.click();
});
