// The case page's transmission-chain graph (ECharts), from the JSON the page embeds (no inline script: CSP).
(function () {
  var data = JSON.parse(document.getElementById("chain-data").textContent);
  var labels = JSON.parse(document.getElementById("chain-labels").textContent);
  var colors = {case: "#c62828", close_controlled: "#1565c0", secondary: "#6a1b9a", colocation: "#00838f", uncontrolled: "#ef6c00"};
  var index = {};
  var categories = data.categories.map(function (c, i) { index[c] = i; return {name: labels[c], itemStyle: {color: colors[c]}}; });
  var el = document.getElementById("chain-graph");
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {},
    legend: [{data: categories.map(function (c) { return c.name; })}],
    series: [{
      type: "graph", layout: "force", roam: true, draggable: true,
      label: {show: true, position: "right"}, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 7,
      force: {repulsion: 260, edgeLength: 90, gravity: 0.08},
      categories: categories,
      data: data.nodes.map(function (n) {
        return {id: n.id, name: n.name, category: index[n.category], symbolSize: n.kind === "case" ? 36 : 20,
                value: labels[n.category]};
      }),
      links: data.edges.map(function (e) {
        return {source: e.source, target: e.target,
                lineStyle: {type: e.kind === "colocation" || e.kind === "secondary" ? "dashed" : "solid",
                            width: e.kind === "infected" ? 3 : 1}};
      })
    }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
  el.setAttribute("data-rendered", String(data.nodes.length));
})();
