// The capacity dashboard (隔离资源): four ECharts charts from the page's JSON (no inline script: CSP).
(function () {
  "use strict";
  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function draw() {
    var data = read("capacity-data"), L = read("capacity-labels");
    if (!data || !L || typeof echarts === "undefined") { return; }
    var sites = data.sites;
    var names = sites.map(function (s) { return s.name; });
    var bar = function (key, color) {
      return { name: L[key], type: "bar", stack: "rooms", itemStyle: { color: color },
               data: sites.map(function (s) {
                 return { value: s[key], itemStyle: s.nearly_full && key === "occupied" ? { color: "#b91c1c" } : undefined };
               }) };
    };
    var chart = echarts.init(document.getElementById("chart-sites"));
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 60, right: 20, bottom: 80 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: 30,
        formatter: function (v, i) { return sites[i] && sites[i].nearly_full ? "{full|" + v + "}" : v; },
        rich: { full: { color: "#b91c1c", fontWeight: "bold" } } } },
      yAxis: { type: "value" },
      series: [bar("occupied", "#dc7633"), bar("cleaning", "#f4d03f"), bar("free", "#52be80"),
               bar("out_of_service", "#aab7b8")]
    });
    var occ = echarts.init(document.getElementById("chart-occupancy"));
    occ.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 60, right: 20 },
      xAxis: { type: "category", data: data.occupancy.map(function (d) { return d.day; }) },
      yAxis: { type: "value" },
      series: [{ name: L.occupancy, type: "line", data: data.occupancy.map(function (d) { return d.occupied; }) }]
    });
    var days = data.flows.map(function (d) { return d.day; }).concat(data.forecast.map(function (d) { return d.day; }));
    var uniq = days.filter(function (d, i) { return days.indexOf(d) === i; });
    var byDay = function (rows, key) {
      var m = {}; rows.forEach(function (r) { m[r.day] = r[key]; });
      return uniq.map(function (d) { return m[d] === undefined ? null : m[d]; });
    };
    var flows = echarts.init(document.getElementById("chart-flows"));
    flows.setOption({
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 60, right: 20 },
      xAxis: { type: "category", data: uniq }, yAxis: { type: "value" },
      series: [{ name: L.admissions, type: "bar", data: byDay(data.flows, "admissions") },
               { name: L.releases, type: "bar", data: byDay(data.flows, "releases") },
               { name: L.forecast, type: "bar", itemStyle: { opacity: 0.5 }, data: byDay(data.forecast, "releases") }]
    });
    var units = data.units.filter(function (u) { return u.level === "district"; });
    if (!units.length) { units = data.units; }
    var per = echarts.init(document.getElementById("chart-units"));
    per.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 60, right: 40 },
      xAxis: { type: "category", data: units.map(function (u) { return u.name; }) },
      yAxis: { type: "value", min: 0, max: function (v) { return Math.ceil(Math.max(v.max || 0, data.target * 1.25)); } },
      series: [{ name: L.per10k, type: "bar",
                 data: units.map(function (u) {
                   return { value: u.rooms_per_10k, itemStyle: u.below ? { color: "#b91c1c" } : undefined };
                 }),
                 markLine: { symbol: "none", label: { formatter: L.target + " " + data.target },
                             data: [{ yAxis: data.target }] } }]
    });
    window.addEventListener("resize", function () { [chart, occ, flows, per].forEach(function (c) { c.resize(); }); });
    document.body.setAttribute("data-charts", "ready");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
