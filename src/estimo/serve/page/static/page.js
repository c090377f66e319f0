// Estimo valuation page: progressive enhancement only; the page works without this file.
// - "I don't know" disables its input; the neighbourhood suggestions follow the city;
// - each field is checked where it is typed (the browser's rules, from the API's bounds);
// - the print button appears; the answer or the error summary takes the focus.
(function () {
  "use strict";
  var form = document.getElementById("valuation-form");

  // the page's own words (data-* attributes, in the page's language), else the browser's
  function message(input) {
    var v = input.validity, d = input.dataset;
    return (v.valueMissing && d.missing) || (v.badInput && d.bad) ||
      (v.rangeUnderflow && d.under) || (v.rangeOverflow && d.over) || input.validationMessage;
  }

  function showError(input) {
    var box = document.getElementById("e-" + input.name);
    if (!box) return;
    var bad = !input.disabled && !input.checkValidity();
    box.textContent = bad ? message(input) : "";
    box.hidden = !bad;
    if (bad) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    input.closest(".field").classList.toggle("invalid", bad);
  }

  if (form) {
    form.querySelectorAll("input[name$='__unknown']").forEach(function (box) {
      var name = box.name.slice(0, -"__unknown".length);
      var input = form.elements[name];
      function sync() { input.disabled = box.checked; if (box.checked) showError(input); }
      box.addEventListener("change", sync);
      sync();
    });
    form.querySelectorAll("input[type=number], input[type=text], select").forEach(function (input) {
      input.addEventListener("change", function () { showError(input); });
      input.addEventListener("blur", function () { showError(input); });
    });
    var city = form.elements.city, list = document.getElementById("l-neighbourhood");
    if (city && list) {
      var all = Array.prototype.slice.call(list.options);
      var filter = function () {
        list.replaceChildren.apply(list, all.filter(function (o) {
          return !city.value || o.dataset.city === city.value;
        }));
      };
      city.addEventListener("change", filter);
      filter();
    }
    form.addEventListener("submit", function (event) {
      var first = null;
      form.querySelectorAll("input[type=number], input[type=text], select").forEach(function (input) {
        showError(input);
        if (!first && !input.disabled && !input.checkValidity()) first = input;
      });
      if (first) { event.preventDefault(); first.focus(); }
    });
  }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  var focus = document.getElementById("answer") || document.getElementById("errors-summary");
  if (focus) focus.focus();
})();
