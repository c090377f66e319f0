// Estimo valuation page: progressive enhancement only; the page works without this file.
// - "I don't know" disables its input; the neighbourhoods offered follow the city;
// - each field is checked where it is typed (the browser's rules, from the API's bounds, and
//   the API's cross-field rules: m² per room, floor within the building's floors);
// - the city's pin map appears: a click or tap fills in the latitude and longitude;
// - the language links carry what was typed;
// - the print button appears; the answer or the error summary takes the focus.
(function () {
  "use strict";
  var form = document.getElementById("valuation-form");
  var lang = document.documentElement.lang || "en";

  function number(value, digits) {
    return Number(value).toLocaleString(lang, { maximumFractionDigits: digits });
  }

  // the API's cross-field rules that the browser can check (estimo.property_input)
  function crossCheck(input) {
    var d = input.dataset, els = form.elements, text = "";
    if (d.perRoom && els.rooms && !input.disabled && !els.rooms.disabled) {
      var area = parseFloat(input.value), rooms = parseFloat(els.rooms.value);
      if (area > 0 && rooms >= 1 && area / rooms < parseFloat(d.minPerRoom)) {
        text = d.perRoom.replace("{rooms}", number(rooms, 1))
          .replace("{per}", number(area / rooms, 1));
      }
    }
    var floors = els.floors_in_building;
    if (d.floorOver && floors && !input.disabled && !floors.disabled) {
      var floor = parseFloat(input.value), count = parseFloat(floors.value);
      if (count > 0 && floor > count) text = d.floorOver.replace("{floors}", number(count, 1));
    }
    input.setCustomValidity(text);
  }

  // the page's own words (data-* attributes, in the page's language), else the browser's
  function message(input) {
    var v = input.validity, d = input.dataset;
    return (v.valueMissing && d.missing) || (v.badInput && d.bad) ||
      (v.rangeUnderflow && d.under) || (v.rangeOverflow && d.over) || input.validationMessage;
  }

  function showError(input) {
    var box = document.getElementById("e-" + input.name);
    if (!box) return;
    if (input.dataset.perRoom || input.dataset.floorOver) crossCheck(input);
    var bad = !input.disabled && !input.checkValidity();
    box.textContent = bad ? message(input) : "";
    box.hidden = !bad;
    if (bad) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    input.closest(".field").classList.toggle("invalid", bad);
  }

  function pinMaps(city, lat, lon) {
    var box = document.getElementById("pin-maps");
    if (!box || !lat || !lon) return;
    var maps = Array.prototype.slice.call(box.querySelectorAll("svg[data-city]"));
    function shown() {
      return maps.filter(function (svg) { return !svg.hasAttribute("hidden"); })[0];
    }
    function placePin() {
      var svg = shown();
      if (!svg) return;
      var d = svg.dataset, box = svg.viewBox.baseVal, pin = svg.querySelector(".pin");
      var y = parseFloat(lat.value), x = parseFloat(lon.value);
      var inside = x >= d.west && x <= d.east && y >= d.south && y <= d.north;
      pin.setAttribute("visibility", inside ? "visible" : "hidden");
      if (!inside) return;
      pin.setAttribute("cx", (x - d.west) / (d.east - d.west) * box.width);
      pin.setAttribute("cy", (d.north - y) / (d.north - d.south) * box.height);
    }
    function follow() {
      var any = false;
      maps.forEach(function (svg) {
        var match = !!city && svg.dataset.city === city.value;
        svg.toggleAttribute("hidden", !match);
        any = any || match;
      });
      box.hidden = !any;
      placePin();
    }
    maps.forEach(function (svg) {
      svg.addEventListener("click", function (event) {
        var d = svg.dataset, rect = svg.getBoundingClientRect();
        var fx = (event.clientX - rect.left) / rect.width;
        var fy = (event.clientY - rect.top) / rect.height;
        var west = parseFloat(d.west), east = parseFloat(d.east);
        var south = parseFloat(d.south), north = parseFloat(d.north);
        [[lat, north - fy * (north - south)], [lon, west + fx * (east - west)]].forEach(
          function (pair) {
            var box = form.elements[pair[0].name + "__unknown"];
            if (box && box.checked) { box.checked = false; pair[0].disabled = false; }
            pair[0].value = pair[1].toFixed(4);
            showError(pair[0]);
          });
        placePin();
      });
    });
    [lat, lon].forEach(function (input) { input.addEventListener("input", placePin); });
    if (city) city.addEventListener("change", follow);
    follow();
  }

  if (form) {
    form.querySelectorAll("input[name$='__unknown']").forEach(function (box) {
      var name = box.name.slice(0, -"__unknown".length);
      var input = form.elements[name];
      function sync() { input.disabled = box.checked; if (box.checked) showError(input); }
      box.addEventListener("change", sync);
      sync();
    });
    var checked = form.querySelectorAll("input[type=number], input[type=text], select");
    checked.forEach(function (input) {
      input.addEventListener("change", function () { showError(input); });
      input.addEventListener("blur", function () { showError(input); });
    });
    var els = form.elements, city = els.city, hood = els.neighbourhood;
    // the other field of a cross-field rule is checked again when this one changes
    [["rooms", "area_m2"], ["floors_in_building", "floor"]].forEach(function (pair) {
      if (els[pair[0]] && els[pair[1]]) {
        els[pair[0]].addEventListener("change", function () {
          if (els[pair[1]].value) showError(els[pair[1]]);
        });
      }
    });
    if (city && hood && hood.tagName === "SELECT") {
      var groups = Array.prototype.slice.call(hood.querySelectorAll("optgroup"));
      var blank = hood.options[0];
      var filter = function () {
        var chosen = hood.value;
        hood.replaceChildren.apply(hood, [blank].concat(groups.filter(function (g) {
          return !city.value || g.dataset.city === city.value;
        })));
        hood.value = chosen;
        if (hood.value !== chosen) hood.value = "";
      };
      city.addEventListener("change", filter);
      filter();
    }
    pinMaps(city, els.lat, els.lon);
    form.addEventListener("submit", function (event) {
      var first = null;
      checked.forEach(function (input) {
        showError(input);
        if (!first && !input.disabled && !input.checkValidity()) first = input;
      });
      if (first) { event.preventDefault(); first.focus(); }
    });
    // the language links keep what was typed so far
    document.querySelectorAll(".languages a[data-lang]").forEach(function (link) {
      link.addEventListener("click", function () {
        var query = new URLSearchParams();
        query.set("lang", link.dataset.lang);
        new FormData(form).forEach(function (value, name) {
          if (name !== "lang" && String(value).trim()) query.append(name, value);
        });
        link.href = "?" + query.toString();
      });
    });
  }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  var focus = document.getElementById("answer") || document.getElementById("errors-summary");
  if (focus) focus.focus();
})();
