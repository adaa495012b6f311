/**
 * The console script: plain browser JavaScript over the JSON API (no
 * framework, no build step). It refreshes topics, groups and the chart every
 * few seconds, reads records, follows a live tail with EventSource, creates
 * topics and sends test records. When the API needs credentials, the browser
 * asks for them (the page itself answers 401 with a Basic challenge) and
 * sends them with every call; a 401 or 403 is shown as such, with the
 * operation and resource the broker refused.
 *
 * @module
 */

/** The console script served at `/console/app.js`. */
export const CONSOLE_JS: string = String.raw`"use strict";
(function () {
  var REFRESH_MS = 3000;
  var COLORS = ["#2f6fde", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#d35400", "#7f8c8d"];
  var state = { cluster: null, topics: [], selectedTopic: null, selectedGroup: null, tail: null, lastRecords: [] };
  var $ = function (sel) { return document.querySelector(sel); };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function api(path, options) {
    options = options || {};
    var init = { method: options.method || "GET", headers: { accept: "application/json" } };
    if (options.body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 204) return null;
      return res.json().then(function (body) {
        if (!res.ok && res.status !== 207) {
          var text = body && body.message ? body.message : "HTTP " + res.status;
          if (res.status === 401) text = "Not signed in (401): " + text + " Reload the page to sign in.";
          if (res.status === 403) text = "Not allowed (403): " + text;
          var err = new Error(text);
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  function clusterPath() { return "/v3/clusters/" + encodeURIComponent(state.cluster); }

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    var units = ["KiB", "MiB", "GiB", "TiB"];
    var i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
    return n.toFixed(1) + " " + units[i];
  }

  // ---- base64 and views -------------------------------------------------------------------
  function b64ToBytes(b64) {
    if (b64 === null || b64 === undefined) return null;
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function utf8ToB64(text) {
    var bytes = new TextEncoder().encode(text);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }
  function render(bytes, view) {
    if (bytes === null) return "null";
    if (view === "hex") {
      var parts = [];
      for (var i = 0; i < bytes.length; i++) parts.push((bytes[i] < 16 ? "0" : "") + bytes[i].toString(16));
      return parts.join(" ");
    }
    var text;
    try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); }
    catch (e) { return render(bytes, "hex"); }
    if (view === "json") {
      try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
    }
    return text;
  }

  // ---- topics -------------------------------------------------------------------------------
  var lastEnds = {};
  function refreshTopics() {
    return api(clusterPath() + "/topics").then(function (list) {
      state.topics = list.data;
      var body = $("#topics tbody");
      body.textContent = "";
      var now = Date.now();
      list.data.forEach(function (t) {
        var row = el("tr", { className: "clickable", "data-topic": t.topic_name });
        if (t.topic_name === state.selectedTopic) row.classList.add("selected");
        var endCell = el("td", { text: "…" });
        var rateCell = el("td", { text: "" });
        row.appendChild(el("td", { text: t.topic_name }));
        row.appendChild(el("td", { text: String(t.partitions_count) }));
        row.appendChild(el("td", { text: formatBytes(t.size_bytes) }));
        row.appendChild(endCell);
        row.appendChild(rateCell);
        row.addEventListener("click", function () { selectTopic(t.topic_name); });
        body.appendChild(row);
        api(clusterPath() + "/topics/" + encodeURIComponent(t.topic_name) + "/partitions").then(function (ps) {
          var end = ps.data.reduce(function (n, p) { return n + p.high_watermark; }, 0);
          endCell.textContent = String(end);
          var prev = lastEnds[t.topic_name];
          if (prev) rateCell.textContent = ((end - prev.end) * 1000 / Math.max(1, now - prev.at)).toFixed(1) + " rec/s";
          lastEnds[t.topic_name] = { end: end, at: now };
        }).catch(function () {});
      });
      fillTopicSelects();
      if (state.selectedTopic) return refreshPartitions();
    });
  }

  function fillTopicSelects() {
    document.querySelectorAll("select.topic-select").forEach(function (sel) {
      var current = sel.value;
      var names = state.topics.map(function (t) { return t.topic_name; });
      var existing = Array.prototype.map.call(sel.options, function (o) { return o.value; });
      if (existing.join("\u0000") === names.join("\u0000")) return;
      sel.textContent = "";
      names.forEach(function (n) { sel.appendChild(el("option", { value: n, text: n })); });
      if (names.indexOf(current) >= 0) sel.value = current;
    });
  }

  function selectTopic(name) {
    state.selectedTopic = name;
    document.querySelectorAll("#topics tbody tr").forEach(function (r) {
      r.classList.toggle("selected", r.getAttribute("data-topic") === name);
    });
    document.querySelectorAll("select.topic-select").forEach(function (sel) { sel.value = name; });
    refreshPartitions();
  }

  function refreshPartitions() {
    var name = state.selectedTopic;
    var topicPath = clusterPath() + "/topics/" + encodeURIComponent(name);
    var moving = {};
    return api(topicPath + "/partitions/-/reassignment").then(function (rs) {
      rs.data.forEach(function (r) {
        moving[r.partition_id] = "+[" + r.adding_replicas.join(", ") + "] -[" + r.removing_replicas.join(", ") + "]";
      });
    }).catch(function () {}).then(function () {
      return api(topicPath + "/partitions");
    }).then(function (ps) {
      $("#partitions-panel").hidden = false;
      $("#partitions-topic").textContent = name;
      var body = $("#partitions tbody");
      body.textContent = "";
      ps.data.forEach(function (p) {
        body.appendChild(el("tr", {}, [
          el("td", { text: String(p.partition_id) }),
          el("td", { text: p.leader_id < 0 ? "none" : String(p.leader_id) }),
          el("td", { text: (p.replica_ids || []).join(", ") }),
          el("td", { text: (p.isr_ids || []).join(", "), className: (p.isr_ids || []).length < (p.replica_ids || []).length ? "warn" : "" }),
          el("td", { text: moving[p.partition_id] || "" }),
          el("td", { text: String(p.log_start_offset) }),
          el("td", { text: String(p.high_watermark) }),
          el("td", { text: formatBytes(p.size_bytes) }),
          el("td", { text: String(p.segment_count) }),
        ]));
      });
    }).catch(function () { $("#partitions-panel").hidden = true; state.selectedTopic = null; });
  }

  // ---- brokers ------------------------------------------------------------------------------
  function refreshBrokers() {
    return api("/denka/v1/cluster").then(function (cl) {
      var counts = {};
      cl.brokers.forEach(function (b) { counts[b.node_id] = { leaders: 0, replicas: 0, outOfIsr: 0 }; });
      (cl.topics || []).forEach(function (t) {
        t.partitions.forEach(function (p) {
          if (counts[p.leader]) counts[p.leader].leaders++;
          p.replicas.forEach(function (id) {
            if (!counts[id]) return;
            counts[id].replicas++;
            if (p.isr.indexOf(id) < 0) counts[id].outOfIsr++;
          });
        });
      });
      var body = $("#brokers tbody");
      body.textContent = "";
      cl.brokers.forEach(function (b) {
        var n = counts[b.node_id];
        var single = cl.mode === "single";
        var role = cl.controller && cl.controller.node_id === b.node_id ? "controller" : "";
        if (b.node_id === cl.node_id) role = role ? role + ", this broker" : "this broker";
        body.appendChild(el("tr", {}, [
          el("td", { text: String(b.node_id) }),
          el("td", { text: b.host + ":" + b.port }),
          el("td", { text: b.rack === null ? "" : b.rack }),
          el("td", { text: role }),
          el("td", { text: single ? "all" : String(n.leaders) }),
          el("td", { text: single ? "all" : String(n.replicas) }),
          el("td", { text: single ? "0" : String(n.outOfIsr), className: n.outOfIsr > 0 ? "warn" : "" }),
        ]));
      });
      $("#brokers-section").hidden = false;
    }).catch(function () { $("#brokers-section").hidden = true; });
  }

  // ---- chart --------------------------------------------------------------------------------
  function refreshChart() {
    return api("/denka/v1/throughput").then(function (h) {
      var canvas = $("#chart");
      var g = canvas.getContext("2d");
      var w = canvas.width, ht = canvas.height, pad = 30;
      g.clearRect(0, 0, w, ht);
      var samples = h.samples;
      var names = {};
      samples.forEach(function (s) { Object.keys(s.topics).forEach(function (n) { names[n] = true; }); });
      var series = Object.keys(names).sort().map(function (name) {
        var points = [];
        for (var i = 1; i < samples.length; i++) {
          var a = samples[i - 1], b = samples[i];
          if (!a.topics[name] || !b.topics[name]) continue;
          var dt = Math.max(1, b.time_ms - a.time_ms) / 1000;
          points.push({ t: b.time_ms, v: Math.max(0, b.topics[name].end_offset - a.topics[name].end_offset) / dt });
        }
        return { name: name, points: points };
      });
      var now = samples.length ? samples[samples.length - 1].time_ms : Date.now();
      var t0 = now - 10 * 60 * 1000;
      var max = 1;
      series.forEach(function (s) { s.points.forEach(function (p) { if (p.v > max) max = p.v; }); });
      g.strokeStyle = "#dde1e8"; g.fillStyle = "#6b7385"; g.font = "11px sans-serif";
      g.beginPath(); g.moveTo(pad, ht - pad); g.lineTo(w - 5, ht - pad); g.moveTo(pad, 5); g.lineTo(pad, ht - pad); g.stroke();
      g.fillText(max.toFixed(1), 2, 12);
      g.fillText("-10 min", pad, ht - 10);
      g.fillText("now", w - 30, ht - 10);
      var legend = $("#chart-legend");
      legend.textContent = "";
      series.forEach(function (s, i) {
        var color = COLORS[i % COLORS.length];
        g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
        s.points.forEach(function (p, j) {
          var x = pad + (p.t - t0) / (now - t0) * (w - pad - 5);
          var y = ht - pad - p.v / max * (ht - pad - 10);
          if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
        });
        g.stroke();
        var swatch = el("i"); swatch.style.background = color;
        legend.appendChild(el("span", {}, [swatch, document.createTextNode(s.name)]));
      });
    });
  }

  // ---- groups -------------------------------------------------------------------------------
  function refreshGroups() {
    return api(clusterPath() + "/consumer-groups").then(function (list) {
      var body = $("#groups tbody");
      body.textContent = "";
      if (list.data.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "4", className: "muted", text: "No consumer groups." })]));
      list.data.forEach(function (gr) {
        var row = el("tr", { className: "clickable" }, [
          el("td", { text: gr.consumer_group_id }),
          el("td", { text: gr.state }),
          el("td", { text: String(gr.member_count) }),
          el("td", { text: String(gr.total_lag) }),
        ]);
        row.addEventListener("click", function () { state.selectedGroup = gr.consumer_group_id; refreshGroupLags(); });
        body.appendChild(row);
      });
      if (state.selectedGroup) return refreshGroupLags();
    });
  }

  function refreshGroupLags() {
    var id = state.selectedGroup;
    return api(clusterPath() + "/consumer-groups/" + encodeURIComponent(id) + "/lags").then(function (lags) {
      $("#group-panel").hidden = false;
      $("#group-name").textContent = id;
      var body = $("#group-lags tbody");
      body.textContent = "";
      lags.data.forEach(function (l) {
        body.appendChild(el("tr", {}, [
          el("td", { text: l.topic_name }), el("td", { text: String(l.partition_id) }),
          el("td", { text: String(l.current_offset) }), el("td", { text: String(l.log_end_offset) }),
          el("td", { text: String(l.lag) }), el("td", { text: l.consumer_id || "-" }),
        ]));
      });
    }).catch(function () { $("#group-panel").hidden = true; state.selectedGroup = null; });
  }

  // ---- transactions -------------------------------------------------------------------------
  function refreshTransactions() {
    return api(clusterPath() + "/transactions").then(function (list) {
      var body = $("#transactions tbody");
      body.textContent = "";
      if (list.data.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "6", className: "muted", text: "No transactional ids." })]));
      list.data.forEach(function (t) {
        var parts = t.partitions.map(function (p) { return p.topic_name + "-" + p.partition_id; }).join(", ");
        body.appendChild(el("tr", {}, [
          el("td", { text: t.transactional_id }), el("td", { text: t.state }),
          el("td", { text: String(t.producer_id) }), el("td", { text: String(t.producer_epoch) }),
          el("td", { text: parts || "-" }),
          el("td", { text: t.age_ms === null ? "-" : (t.age_ms / 1000).toFixed(1) + " s" }),
        ]));
      });
    });
  }

  // ---- records ------------------------------------------------------------------------------
  function showRecords(records, append) {
    var view = $("#browse [name=view]").value;
    var body = $("#records tbody");
    if (!append) { body.textContent = ""; state.lastRecords = []; }
    records.forEach(function (r) {
      state.lastRecords.push(r);
      var headers = r.headers.map(function (hd) { return hd.name + "=" + render(b64ToBytes(hd.value), "text"); }).join("\n");
      body.appendChild(el("tr", { "data-offset": String(r.offset) }, [
        el("td", { text: String(r.offset) }),
        el("td", { text: new Date(r.timestamp).toISOString() }),
        el("td", { className: "bytes key", text: render(b64ToBytes(r.key), view) }),
        el("td", { className: "bytes value", text: render(b64ToBytes(r.value), view) }),
        el("td", { className: "bytes", text: headers }),
      ]));
    });
  }

  function partitionPath(form) {
    return clusterPath() + "/topics/" + encodeURIComponent(form.topic.value) + "/partitions/" + Number(form.partition.value || 0);
  }

  function browse(ev) {
    if (ev) ev.preventDefault();
    var form = $("#browse");
    var out = $("#browse-result");
    var q = "?max_records=" + Number(form.max.value || 50);
    if (form.offset.value !== "") q += "&offset=" + Number(form.offset.value);
    return api(partitionPath(form) + "/records" + q).then(function (res) {
      showRecords(res.data, false);
      out.className = "";
      out.textContent = res.data.length + " record(s); log " + res.log_start_offset + ".." + res.high_watermark + ", next offset " + res.next_offset;
    }).catch(function (e) { out.className = "error"; out.textContent = e.message; });
  }

  function toggleTail() {
    var button = $("#tail-toggle");
    var out = $("#browse-result");
    if (state.tail) {
      state.tail.close();
      state.tail = null;
      button.classList.remove("on");
      button.textContent = "Live tail";
      return;
    }
    var form = $("#browse");
    var source = new EventSource(partitionPath(form) + "/records/tail");
    state.tail = source;
    button.classList.add("on");
    button.textContent = "Stop tail";
    showRecords([], false);
    source.addEventListener("ready", function (e) { out.className = ""; out.textContent = "Tailing from offset " + JSON.parse(e.data).offset; });
    source.addEventListener("record", function (e) { showRecords([JSON.parse(e.data)], true); });
    source.addEventListener("error", function (e) {
      if (e.data) { out.className = "error"; out.textContent = JSON.parse(e.data).message; }
      else if (source.readyState === EventSource.CLOSED) {
        // A refused stream (401, 403) closes without an event: say what it needs.
        out.className = "error";
        out.textContent = "The live tail was refused: it needs READ on the topic.";
      }
      if (source.readyState === EventSource.CLOSED && state.tail === source) toggleTail();
    });
  }

  // ---- forms --------------------------------------------------------------------------------
  function createTopic(ev) {
    ev.preventDefault();
    var form = ev.target;
    var out = $("#create-result");
    api(clusterPath() + "/topics", { method: "POST", body: {
      topic_name: form.topic_name.value,
      partitions_count: Number(form.partitions_count.value || 1),
    } }).then(function (t) {
      out.className = ""; out.textContent = "Created " + t.topic_name + " (" + t.partitions_count + " partition(s)).";
      form.topic_name.value = "";
      return refreshTopics().then(function () { selectTopic(t.topic_name); });
    }).catch(function (e) { out.className = "error"; out.textContent = e.message; });
  }

  function sendRecord(ev) {
    ev.preventDefault();
    var form = ev.target;
    var out = $("#send-result");
    var record = { value: { type: "STRING", data: form.value.value } };
    if (form.key.value !== "") record.key = { type: "STRING", data: form.key.value };
    if (form.partition.value !== "") record.partition_id = Number(form.partition.value);
    record.headers = form.headers.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(function (kv) {
      var eq = kv.indexOf("=");
      return { name: eq < 0 ? kv : kv.slice(0, eq), value: utf8ToB64(eq < 0 ? "" : kv.slice(eq + 1)) };
    });
    api(clusterPath() + "/topics/" + encodeURIComponent(form.topic.value) + "/records", { method: "POST", body: record })
      .then(function (r) {
        out.className = "";
        out.textContent = "Delivered to partition " + r.partition_id + " at offset " + r.offset + ".";
        out.setAttribute("data-offset", String(r.offset));
        out.setAttribute("data-partition", String(r.partition_id));
        return refreshTopics();
      }).catch(function (e) { out.className = "error"; out.textContent = e.message; });
  }

  // ---- start --------------------------------------------------------------------------------
  function refreshAll() {
    return Promise.all([refreshBrokers(), refreshTopics(), refreshGroups(), refreshTransactions(), refreshChart()]).then(function () {
      $("#status").textContent = "live"; $("#status").className = "pill ok";
    }).catch(function (e) { $("#status").textContent = e.message; $("#status").className = "pill bad"; });
  }

  $("#create-topic").addEventListener("submit", createTopic);
  $("#send-record").addEventListener("submit", sendRecord);
  $("#browse").addEventListener("submit", browse);
  $("#tail-toggle").addEventListener("click", toggleTail);
  $("#browse [name=view]").addEventListener("change", function () { showRecords(state.lastRecords.splice(0), false); });
  api("/v3/clusters").then(function (c) {
    state.cluster = c.data[0].cluster_id;
    $("#cluster").textContent = "cluster " + state.cluster;
    return refreshAll();
  }).then(function () {
    document.body.setAttribute("data-ready", "true");
    setInterval(refreshAll, REFRESH_MS);
  });
})();
`;
