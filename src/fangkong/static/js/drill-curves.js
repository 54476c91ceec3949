// A drill run's curves (ECharts): infections with the response against the no-response baseline, and
// the response's detected and controlled counts; from the JSON the page embeds (no inline script: CSP).
(function () {
  var el = document.getElementById("drill-curves");
  if (!el) { return; }
  var data = JSON.parse(document.getElementById("drill-curves-data").textContent);
  var labels = JSON.parse(document.getElementById("drill-curves-labels").textContent);
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {trigger: "axis"},
    legend: {data: [labels.response, labels.baseline, labels.detected, labels.controlled]},
    xAxis: {type: "category", data: data.days},
    yAxis: {type: "value", minInterval: 1},
    series: [
      {name: labels.response, type: "line", data: data.response.infections, symbol: "none",
       lineStyle: {width: 3, color: "#c62828"}, itemStyle: {color: "#c62828"}},
      {name: labels.baseline, type: "line", data: data.baseline.infections, symbol: "none",
       lineStyle: {width: 2, type: "dashed", color: "#757575"}, itemStyle: {color: "#757575"}},
      {name: labels.detected, type: "bar", data: data.response.detected, itemStyle: {color: "#5c7cfa"}},
      {name: labels.controlled, type: "bar", data: data.response.controlled, itemStyle: {color: "#2e7d32"}}
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
  el.setAttribute("data-rendered", String(data.days.length));
})();
