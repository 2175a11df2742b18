// Polls the overview and the health check, and redraws the page in place.
"use strict";

(function () {
  const body = document.body;
  const refreshMs = Number(body.dataset.refreshMs) || 5000;
  const HISTORY_POINTS = 120;
  const colours = { size: "#6e7681", ready: "#3fb950", pending: "#d29922", running: "#58a6ff", text: "#e6e9ef" };

  Chart.defaults.color = colours.text;
  Chart.defaults.animation = false;  // a wall screen redraws every few seconds; motion only distracts

  const poolsChart = new Chart(document.getElementById("pools-chart"), {
    type: "bar",
    data: {
      labels: [],
      datasets: [
        { label: "size", stack: "size", backgroundColor: colours.size, data: [] },
        { label: "ready", stack: "vms", backgroundColor: colours.ready, data: [] },
        { label: "pending", stack: "vms", backgroundColor: colours.pending, data: [] },
        { label: "running", stack: "vms", backgroundColor: colours.running, data: [] },
      ],
    },
    options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });

  const capacityChart = new Chart(document.getElementById("capacity-chart"), {
    type: "line",
    data: { labels: [], datasets: [{ label: "capacity %", borderColor: colours.ready, data: [], pointRadius: 2 }] },
    options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 100 } } },
  });

  function setText(id, value) {
    document.getElementById(id).textContent = String(value);
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = String(text);
    return td;
  }

  function renderTable(pools) {
    const rows = pools.map((pool) => {
      const tr = document.createElement("tr");
      tr.dataset.pool = pool.name;
      if (pool.size > 0 && pool.ready === 0) tr.className = "empty";
      tr.append(cell(pool.name));
      for (const field of ["size", "ready", "pending", "running", "completed", "clone_average", "boot_average"]) {
        const td = cell(pool[field]);
        td.dataset.field = field;
        tr.append(td);
      }
      return tr;
    });
    document.querySelector("#pools tbody").replaceChildren(...rows);
  }

  function render(data) {
    setText("capacity-percent", data.capacity.percent);
    setText("capacity-current", data.capacity.current);
    setText("capacity-total", data.capacity.total);
    setText("clone-average", data.clone.average);
    setText("clone-count", data.clone.count);
    setText("boot-average", data.boot.average);
    setText("boot-count", data.boot.count);
    for (const state of ["ready", "pending", "running", "completed"]) setText("queue-" + state, data.queue[state]);
    for (const name of ["requested", "processing", "creating"]) setText("ondemand-" + name, data.ondemand[name]);
    renderTable(data.pools);

    poolsChart.data.labels = data.pools.map((pool) => pool.name);
    for (const dataset of poolsChart.data.datasets) dataset.data = data.pools.map((pool) => pool[dataset.label]);
    poolsChart.update();

    const points = capacityChart.data;
    points.labels.push(new Date().toLocaleTimeString());
    points.datasets[0].data.push(data.capacity.percent);
    if (points.labels.length > HISTORY_POINTS) {
      points.labels.shift();
      points.datasets[0].data.shift();
    }
    capacityChart.update();
    setText("updated", "updated " + new Date().toLocaleTimeString());
  }

  function renderHealth(health) {
    const pill = document.getElementById("health");
    pill.textContent = health.ok ? "healthy" : "unhealthy: " + health.reasons.join("; ");
    pill.className = "pill " + (health.ok ? "ok" : "bad");
  }

  function showProblem(text) {
    const problem = document.getElementById("problem");
    problem.textContent = text;
    problem.hidden = !text;
  }

  async function refresh() {
    try {
      const reply = await fetch(body.dataset.overviewUrl, { cache: "no-store" });
      if (!reply.ok) throw new Error("the server answered " + reply.status);
      render(await reply.json());
      showProblem("");
    } catch (error) {
      showProblem("Cannot refresh: " + error.message);
    }
    try {
      // 503 is an answer too: it carries the reasons.
      renderHealth(await (await fetch(body.dataset.healthUrl, { cache: "no-store" })).json());
    } catch (error) {
      renderHealth({ ok: false, reasons: [error.message] });
    }
    setTimeout(refresh, refreshMs);
  }

  refresh();
})();
