// The epidemic curve of a surveillance series (ECharts): counts as bars, the upper bound as a line,
// alarms marked; from the JSON the page embeds (no inline script: CSP).
(function () {
  var el = document.getElementById("curve");
  if (!el) { return; }
  var data = JSON.parse(document.getElementById("curve-data").textContent);
  var labels = JSON.parse(document.getElementById("curve-labels").textContent);
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {trigger: "axis"},
    legend: {data: [labels.observed, labels.upperbound, labels.alarm]},
    xAxis: {type: "category", data: data.days},
    yAxis: {type: "value", minInterval: 1},
    series: [
      {name: labels.observed, type: "bar", data: data.observed.map(function (v, i) {
        return {value: v, itemStyle: {color: data.alarm[i] ? "#c62828" : (data.insufficient[i] ? "#bdbdbd" : "#5c7cfa")}};
      })},
      {name: labels.upperbound, type: "line", data: data.upperbound, connectNulls: false, symbol: "none",
       lineStyle: {type: "dashed", color: "#ef6c00"}},
      {name: labels.alarm, type: "scatter", symbol: "triangle", symbolSize: 12, itemStyle: {color: "#c62828"},
       data: data.observed.map(function (v, i) { return data.alarm[i] ? v : null; })}
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
  el.setAttribute("data-rendered", String(data.days.length));
  el.setAttribute("data-alarms", String(data.alarm.filter(function (a) { return a; }).length));
})();
