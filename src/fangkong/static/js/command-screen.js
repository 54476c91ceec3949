// The command centre's big screen (大屏): six panels from /api/v1/command/panels/{panel}, every 30 s.
(function () {
  "use strict";
  var root = document.getElementById("command-screen");
  if (!root) { return; }
  var unit = root.dataset.unit, day = root.dataset.day;
  var STATUS = { green: "status-green", amber: "status-amber", red: "status-red", none: "status-none" };
  var COLOURS = { green: "#3a9b5c", amber: "#e0a400", red: "#c0392b", none: "#9aa5b1", "": "#5b8def" };
  var ORDER_STATUS = { issued: "待签收", acknowledged: "已签收", completed: "已落实", overdue: "逾期未落实",
                       escalated: "超时未签收(已督促)" };
  var charts = {};

  function get(panel) {
    return fetch("/api/v1/command/panels/" + panel + "?unit=" + encodeURIComponent(unit) + "&day=" + day,
                 { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(panel + ": " + r.status); } return r.json(); });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function fmt(kind, v) {
    if (v === null || v === undefined) { return "—"; }
    if (kind === "rate") { return (100 * v).toFixed(2) + "%"; }
    return String(v);
  }
  function kpis(data) {
    var box = document.getElementById("panel-kpis");
    box.textContent = "";
    data.items.forEach(function (k) {
      var card = el(k.list ? "a" : "div", "kpi " + (STATUS[k.status] || ""));
      if (k.list) { card.href = k.list; }
      card.dataset.indicator = k.indicator;
      card.title = k.rule || "";
      card.appendChild(el("div", "kpi-name", k.name_zh));
      card.appendChild(el("div", "kpi-value", k.shown));
      var d = k.delta === null ? "" : (k.delta > 0 ? "↑ " : k.delta < 0 ? "↓ " : "＝ ") + fmt(k.kind, Math.abs(k.delta));
      card.appendChild(el("div", "kpi-delta", k.enabled ? "较昨日 " + (d || "—") : ""));
      box.appendChild(card);
    });
  }
  function rankings(data) {
    var body = document.querySelector("#panel-rankings tbody");
    body.textContent = "";
    data.units.forEach(function (u) {
      var tr = el("tr");
      var td = el("td"), a = el("a", "", u.unit_name);
      a.href = "/command/screen?unit=" + encodeURIComponent(u.unit_code);
      a.dataset.unit = u.unit_code;
      td.appendChild(a); tr.appendChild(td);
      tr.appendChild(el("td", STATUS[u.cleared && u.cleared.status] || "", u.cleared ? u.cleared.shown : "—"));
      tr.appendChild(el("td", STATUS[u.overdue && u.overdue.status] || "", u.overdue ? u.overdue.shown : "—"));
      body.appendChild(tr);
    });
    drawMap(data);
  }
  // the map: the children's imported outlines (registerMap) when there are any, else a schematic tile map
  // (one tile per child unit); coloured by clearance either way — no real map is shipped or downloaded
  var outlines = null;
  function loadOutlines() {
    if (outlines !== null) { return Promise.resolve(outlines); }
    return fetch("/api/v1/command/geometry?unit=" + encodeURIComponent(unit), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (g) { outlines = g; if (g.features.length) { echarts.registerMap("unit-" + unit, g); } return g; });
  }
  function drawMap(data) {
    var map = charts.map || (charts.map = echarts.init(document.getElementById("panel-map")));
    var points = data.units.map(function (u) {
      var st = u.cleared ? u.cleared.status : "none";
      return { name: u.unit_name, value: 1, code: u.unit_code, shown: u.cleared ? u.cleared.shown : "—", status: st,
               itemStyle: { color: COLOURS[st] || COLOURS.none, areaColor: COLOURS[st] || COLOURS.none },
               label: { color: st === "amber" ? "#1f2937" : "#ffffff" } };
    });
    var tooltip = { formatter: function (p) { return p.name + "<br>日产日清率 " + (p.data ? p.data.shown : "—"); } };
    var geo = outlines && outlines.features.length;
    root.dataset.map = geo ? "outlines" : "tiles";
    if (geo) {
      var byCode = {};
      outlines.features.forEach(function (f) { byCode[f.properties.code] = f.properties.name; });
      map.setOption({ tooltip: tooltip, series: [{ type: "map", map: "unit-" + unit, roam: false, nameProperty: "name",
        label: { show: true, fontSize: 16, fontWeight: "bold" }, itemStyle: { borderColor: "#fff", borderWidth: 2 },
        data: points.filter(function (p) { return byCode[p.code]; }) }] }, true);
    } else {
      map.setOption({ tooltip: tooltip,
        series: [{ type: "treemap", roam: false, nodeClick: false, breadcrumb: { show: false },
          // tiles apart, names large and bold; dark text on amber, white elsewhere (readable on the wall)
          itemStyle: { borderColor: "#fff", borderWidth: 3, gapWidth: 3 },
          label: { show: true, fontSize: 18, fontWeight: "bold", lineHeight: 26,
                   formatter: function (p) { return p.name + "\n" + p.data.shown; } },
          data: points }] }, true);
    }
    map.off("click");
    map.on("click", function (p) { if (p.data && p.data.code) { location.href = "/command/screen?unit=" + encodeURIComponent(p.data.code); } });
  }
  function trends(data) {
    var chart = charts.trends || (charts.trends = echarts.init(document.getElementById("panel-trends")));
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 40, right: 40, top: 30, bottom: 30 },
      xAxis: { type: "category", data: data.days.map(function (d) { return d.slice(5); }) },
      yAxis: [{ type: "value" }, { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return (100 * v) + "%"; } } }],
      series: data.series.map(function (s) {
        return { name: s.name_zh, type: "line", data: s.values, yAxisIndex: s.indicator === "leads.cleared_same_day" ? 1 : 0 };
      })
    }, true);
  }
  var STEP = { received: "接收", known: "即知", managed: "即管", controlled: "即控" };
  function funnel(data) {
    var chart = charts.funnel || (charts.funnel = echarts.init(document.getElementById("panel-funnel")));
    chart.setOption({
      tooltip: { formatter: function (p) {
        var s = p.data.step; return p.name + " " + (p.value === null ? "—" : p.value) +
          (s.p90_h === null || s.p90_h === undefined ? "" : "<br>P50 " + s.p50_h + " 小时 · P90 " + s.p90_h + " 小时"); } },
      series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "10%",
        label: { show: true, position: "inside", fontSize: 16, formatter: function (p) { return p.name + " " + (p.value === null ? "—" : p.value); } },
        data: data.steps.map(function (s) {
          return { name: STEP[s.step] || s.step, value: s.count, step: s,
                   itemStyle: { color: COLOURS[s.status] || COLOURS[""] } };
        }) }]
    }, true);
  }
  function cases(data) {
    document.getElementById("panel-cases-count").textContent = data["new"] ? data["new"].shown : "—";
    var list = document.getElementById("panel-cases");
    list.textContent = "";
    data.items.forEach(function (c) {
      var li = el("li"), a = el("a", "", "病例 #" + c.case_id + " · " + c.created_at.slice(11, 16));
      a.href = c.review; li.appendChild(a); list.appendChild(li);
    });
  }
  function orders(data) {
    var body = document.querySelector("#panel-orders tbody");
    body.textContent = "";
    if (!data.items.length) { var tr0 = el("tr"); var td0 = el("td", "empty", "暂无未落实的指令"); td0.colSpan = 4; tr0.appendChild(td0); body.appendChild(tr0); }
    data.items.forEach(function (o) {
      var tr = el("tr");
      tr.appendChild(el("td", "", "#" + o.order_id + " " + o.title));
      tr.appendChild(el("td", "", o.unit_name));
      tr.appendChild(el("td", o.status === "escalated" || o.status === "overdue" ? "status-red" : "", ORDER_STATUS[o.status] || o.status));
      tr.appendChild(el("td", "", o.due_at.slice(0, 16).replace("T", " ")));
      body.appendChild(tr);
    });
  }
  function refresh() {
    Promise.all([get("kpis").then(kpis), loadOutlines().then(function () { return get("rankings"); }).then(rankings), get("trends").then(trends),
                 get("funnel").then(funnel), get("cases").then(cases), get("orders").then(orders)])
      .then(function () { document.getElementById("screen-updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN"); root.dataset.loaded = "1"; })
      .catch(function (e) { document.getElementById("screen-updated").textContent = "刷新失败:" + e.message; });
  }
  refresh();
  setInterval(refresh, 30000);
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
}());
