// R_t with its 95% interval (a band between the 2.5% and 97.5% quantiles, the median as a line, R = 1
// marked) and the cases by onset day, local and imported stacked; from the JSON the page embeds (CSP).
(function () {
  var el = document.getElementById("rt");
  if (!el) { return; }
  var data = JSON.parse(document.getElementById("rt-data").textContent);
  var labels = JSON.parse(document.getElementById("rt-labels").textContent);
  var chart = echarts.init(el);
  var width = data.upper.map(function (u, i) { return u === null || data.lower[i] === null ? null : u - data.lower[i]; });
  chart.setOption({
    animation: false,
    tooltip: {trigger: "axis"},
    legend: {data: [labels.median, labels.band]},
    xAxis: {type: "category", data: data.ends},
    yAxis: {type: "value", name: "Rt"},
    series: [
      {name: labels.lower, type: "line", data: data.lower, stack: "ci", symbol: "none", lineStyle: {opacity: 0}},
      {name: labels.band, type: "line", data: width, stack: "ci", symbol: "none", lineStyle: {opacity: 0},
       itemStyle: {color: "rgba(92,124,250,0.5)"},
       areaStyle: {color: "rgba(92,124,250,0.25)"}},
      {name: labels.median, type: "line", data: data.median, symbol: "none", lineStyle: {color: "#3b5bdb", width: 2},
       markLine: {silent: true, symbol: "none", label: {formatter: labels.one}, lineStyle: {color: "#c62828", type: "dashed"},
                  data: [{yAxis: 1}]}}
    ]
  });
  var cases = echarts.init(document.getElementById("rt-cases"));
  cases.setOption({
    animation: false,
    tooltip: {trigger: "axis"},
    legend: {data: [labels.local, labels.imported]},
    xAxis: {type: "category", data: data.days},
    yAxis: {type: "value", minInterval: 1},
    series: [
      {name: labels.local, type: "bar", stack: "cases", data: data.local, itemStyle: {color: "#5c7cfa"}},
      {name: labels.imported, type: "bar", stack: "cases", data: data.imported, itemStyle: {color: "#ef6c00"}}
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); cases.resize(); });
  el.setAttribute("data-windows", String(data.ends.length));
  el.setAttribute("data-estimates", String(data.median.filter(function (v) { return v !== null; }).length));
})();
