/* Live updates for the status page. maintenant/public/render.py embeds this file byte for byte
   and names its sha256 in the CSP, so it must stay static. The server-rendered page is complete
   without it; this keeps it current from /status/events, building what it adds with the classes
   of templates/status/macros.html. Server strings only ever go in as text nodes. Its words come
   in the reader's language from the body's data-labels and data-text (render.live_text). */
(() => {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.Intl || !document.body.replaceChildren) return;
  const byId = (id) => document.getElementById(id);
  const labels = JSON.parse(document.body.dataset.labels);
  const text = JSON.parse(document.body.dataset.text);
  const icons = JSON.parse(document.body.dataset.favicons);
  const WORST_LAST = ["operational", "maintenance", "degraded", "partial_outage", "major_outage"];
  const MONTHS = text.months;
  const SECTIONS = ["incidents", "maintenance-in-progress", "components", "maintenance-upcoming",
    "past-incidents"];
  const live = byId("live"), liveState = live.querySelector(".live-state");
  let zone, clock, zoneNames, updatedAt, source, lastId = 0, retryDelay = 1000;
  let syncing = false, again = false, checks = [], tries = 0;

  // h("p", {class: "when"}, "Started ", node): strings become text nodes, never markup.
  const h = (tag, attrs, ...kids) => {
    const node = document.createElement(tag);
    for (const name in attrs) node.setAttribute(name, attrs[name]);
    node.append(...kids);
    return node;
  };
  const label = (value) => labels[value] || String(value).replace(/_/g, " ").toLowerCase()
    .replace(/^./, (c) => c.toUpperCase());
  const findId = (list, id) => list.find((x) => x.id === id);
  // fill("Started {start}, ends {end}", {start: node, end: node}): a phrase's parts in order.
  const fill = (phrase, values) => phrase.split(/\{(\w+)\}/)
    .map((part, i) => i % 2 ? values[part] : part).filter((part) => part !== "");

  // Times as the server writes them (render.local_time): "27 Nov 2026, 14:03 CET".
  function setZone(name) {
    try {
      clock = new Intl.DateTimeFormat("en-US", {timeZone: name, hourCycle: "h23", year: "numeric",
        month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"});
    } catch (unknownZone) { return setZone("UTC"); }
    zone = name;
    zoneNames = ["en-GB", "en-US"].map((locale) =>
      new Intl.DateTimeFormat(locale, {timeZone: name, timeZoneName: "short"}));
  }
  const date = (value) => new Date(String(value).replace(/(\.\d{3})\d+/, "$1"));
  const parts = (moment, format = clock) =>
    Object.fromEntries(format.formatToParts(moment).map((p) => [p.type, p.value]));
  function when(value, since) {
    const moment = date(value), p = parts(moment), s = since && parts(date(since));
    const names = zoneNames.map((format) => parts(moment, format).timeZoneName);
    const time = `${p.hour}:${p.minute} ${names.find((n) => !/^GMT[+-]/.test(n)) || names[0]}`;
    const sameDay = s && s.year === p.year && s.month === p.month && s.day === p.day;
    return h("time", {datetime: moment.toISOString().replace(/\.\d+Z$/, "Z")},
      sameDay ? time : `${p.day} ${MONTHS[p.month - 1]} ${p.year}, ${time}`);
  }

  const badge = (status) => h("span", {class: `badge status-${status}`},
    h("span", {class: "icon", "aria-hidden": "true"}), label(status));
  function setHeadline(status, message) {
    const banner = byId("overall"), headline = banner.querySelector(".headline"), icon = byId("favicon");
    message = text.headlines[message] || message;
    banner.className = `banner status-${status}`;
    banner.dataset.status = status;
    if (headline.textContent !== message) headline.textContent = message;  // it is aria-live
    if (icons[status] && icon.getAttribute("href") !== icons[status]) icon.href = icons[status];
  }
  function componentRow(c) {
    const name = h("span", {class: "component-name"}, c.name);
    if (c.description) name.append(" ", h("span", {class: "component-description"}, c.description));
    return h("li", {class: "component", id: `component-${c.id}`, "data-component-id": c.id,
      "data-group-id": c.group_id ?? "", "data-status": c.status}, name, badge(c.status));
  }
  function groupCard(g, open) {
    const card = h("details", {class: "card group", id: `group-${g.id}`, "data-group-id": g.id,
      "data-status": g.status}, h("summary", {}, h("h3", {class: "group-name"}, g.name), badge(g.status)));
    if (g.description) card.append(h("p", {class: "group-description"}, g.description));
    card.append(h("ul", {class: "components"}, ...g.components.map(componentRow)));
    card.open = open;
    return card;
  }
  const affected = (card, names) => names && names.length && card.append(h("p", {class: "tags"},
    h("span", {class: "label"}, text.affects), ...names.flatMap((n) => [" ", h("span", {class: "tag"}, n)])));
  function incidentCard(i) {
    const resolved = i.status === "resolved";
    const card = h("article", {id: `incident-${i.id}`,
      class: `card notice severity-${i.severity}${resolved ? " resolved-notice" : ""}`},
      h("div", {class: "notice-head"}, h("h3", {}, h("a", {href: `/status/incidents/${i.id}`}, i.title)), h("span", {class: "pills"},
        h("span", {class: `pill severity-${i.severity}`},
          text.pills[i.severity] || `${label(i.severity)} incident`), " ",
        h("span", {class: "pill"}, label(i.status)))));
    if (resolved && i.resolved_at) {
      card.append(h("p", {class: "when"}, ...fill(text.started_resolved,
        {start: when(i.created_at), end: when(i.resolved_at, i.created_at)})));
    }
    affected(card, i.affected);
    card.append(h("ol", {class: "timeline", "aria-label": text.updates}, ...i.updates.map((u) =>
      h("li", {}, h("p", {class: "update-head"}, h("strong", {}, label(u.status)), " · ", when(u.created_at)),
        h("p", {class: "message"}, u.message)))));
    return card;
  }
  function maintenanceCard(w) {
    const card = h("article", {class: "card notice status-maintenance", id: `maintenance-${w.id}`},
      h("div", {class: "notice-head"}, h("h3", {}, w.title),
        h("span", {class: "pills"}, h("span", {class: "pill"}, label(w.status)))),
      w.status === "in_progress" ?
        h("p", {class: "when"}, ...fill(text.started_ends,
          {start: when(w.starts_at), end: when(w.ends_at, w.starts_at)})) :
        h("p", {class: "when"}, when(w.starts_at), " – ", when(w.ends_at, w.starts_at)));
    affected(card, w.affected);
    if (w.description) card.append(h("p", {class: "description"}, w.description));
    return card;
  }

  // A section that exists only while it has something to show, in the template's order.
  function renderSection(id, title, items, card) {
    const old = byId(id), fresh = items.length && h("section", {id, "aria-labelledby": `${id}-heading`},
      h("h2", {id: `${id}-heading`}, title), ...items.map(card));
    if (old && fresh) old.replaceWith(fresh);
    else if (old) old.remove();
    else if (fresh) SECTIONS.slice(SECTIONS.indexOf(id) + 1).map(byId).find(Boolean).before(fresh);
  }
  function renderComponents(doc) {
    const section = byId("components"), open = {};
    section.querySelectorAll(".group").forEach((g) => { open[g.dataset.groupId] = g.open; });
    const kids = doc.groups.map((g) => groupCard(g, open[g.id] ?? !g.collapsed));
    if (doc.components.length) {
      kids.push(h("ul", {class: "card components", id: "ungrouped"}, ...doc.components.map(componentRow)));
    }
    if (!kids.length) {
      kids.push(h("div", {class: "card empty"}, h("strong", {}, text.no_components),
        h("p", {}, text.no_components_hint)));
    }
    // The uptime bars and figures come from the server's render only (they are not in the
    // JSON): the new rows keep the ones the page had, until the page is loaded again.
    const uptime = (selector, key) => {
      const kept = {};
      section.querySelectorAll(selector).forEach((node) => { kept[key(node)] = node; });
      return kept;
    };
    const bars = uptime(".component > .uptime", (n) => n.parentNode.dataset.componentId);
    const figures = uptime(".group > summary > .uptime-figure", (n) => n.closest(".group").dataset.groupId);
    kids.forEach((kid) => {
      kid.querySelectorAll(".component").forEach((row) => {
        if (bars[row.dataset.componentId]) row.append(bars[row.dataset.componentId]);
      });
      const figure = kid.dataset && figures[kid.dataset.groupId];
      if (figure) kid.querySelector("summary .badge").before(figure);
    });
    section.replaceChildren(section.querySelector("h2"), ...kids);
  }
  function renderPast(list) {
    const section = byId("past-incidents");
    const old = byId("resolved-incidents");
    const past = list.length ? h("details", {class: "card past", id: "resolved-incidents"},
      h("summary", {}, text.resolved_summary.replace("{count}", list.length)),
      h("div", {class: "past-list"}, ...list.map(incidentCard))) :
      h("p", {class: "quiet"}, text.no_past);
    past.open = Boolean(old && old.open);
    section.replaceChildren(section.querySelector("h2"), past);
  }
  function render(doc) {
    const title = byId("title"), windows = (status) => doc.maintenance.filter((w) => w.status === status);
    let lede = byId("lede");
    document.title = title.textContent = doc.page.title;
    if (doc.page.description && !lede) title.after(lede = h("p", {class: "lede", id: "lede"}));
    if (lede && !doc.page.description) lede.remove(); else if (lede) lede.textContent = doc.page.description;
    setZone(doc.page.timezone);
    byId("zone-note").textContent = text.zone_note.replace("{zone}", zone);
    showUpdated();
    setHeadline(doc.status, doc.message);
    renderSection("incidents", text.active_incidents, doc.incidents, incidentCard);
    renderSection("maintenance-in-progress", text.maintenance_in_progress, windows("in_progress"),
      maintenanceCard);
    renderComponents(doc);
    renderSection("maintenance-upcoming", text.upcoming_maintenance, windows("scheduled"),
      maintenanceCard);
    renderPast(doc.resolved_incidents);
  }

  // Re-read /status/api (a 304 when unchanged) until it shows what the events announced, since
  // another web process may not have seen them yet; events arriving meanwhile make a copy stale.
  function sync(check) {
    if (check) checks.push(check);
    again = true;
    if (!syncing) { syncing = true; setTimeout(pull, 50); }
  }
  function pull() {
    again = false;
    fetch("/status/api", {cache: "no-cache", credentials: "omit"}).then((response) => {
      if (!response.ok) throw new Error(`status ${response.status}`);
      return response.json();
    }).then((doc) => {
      const fresh = !again && checks.every((check) => check(doc));
      if (fresh || tries >= 4) { checks = []; tries = 0; render(doc); } else tries++;
      if (fresh) syncing = false; else setTimeout(pull, 250 * (tries + 1));
    }).catch(() => {  // the stream's next event or snapshot mends what this missed
      if (++tries > 4) { checks = []; tries = 0; syncing = false; } else setTimeout(pull, 1000 * tries);
    });
  }

  // A component's new status is written in place; anything else about it means re-reading.
  const worst = (statuses) =>
    statuses.reduce((a, b) => WORST_LAST.indexOf(b) > WORST_LAST.indexOf(a) ? b : a);
  function regroup(group) {
    if (!group) return;
    const status = worst([...group.querySelectorAll(".component")].map((row) => row.dataset.status));
    group.dataset.status = status;
    group.querySelector("summary .badge").replaceWith(badge(status));
  }
  const allComponents = (doc) => doc.components.concat(...doc.groups.map((g) => g.components));
  function onComponent(c) {
    const row = byId(`component-${c.id}`), box = row && row.parentNode;
    if (c.deleted || c.visible === false) {
      if (!row) return;
      row.remove();
      return box.children.length ? regroup(box.closest(".group")) : sync();  // a list emptied
    }
    if (!row || row.dataset.groupId !== String(c.group_id ?? "") || row.dataset.status === c.status ||
        row.querySelector(".component-name").firstChild.textContent.trim() !== c.name.trim()) {
      return sync((doc) => Boolean(findId(allComponents(doc), c.id)));  // new, moved, renamed, reordered
    }
    row.dataset.status = c.status;
    row.querySelector(".badge").replaceWith(badge(c.status));
    regroup(box.closest(".group"));
  }

  // An incident or window event: re-read until the document has it as new (or has it gone).
  const shows = (listOf, gone) => (obj) => sync((doc) => {
    const found = findId(listOf(doc), obj.id);
    return gone(obj) ? !found : Boolean(found) && date(found.updated_at) >= date(obj.updated_at);
  });
  const incidents = (doc) => doc.incidents.concat(doc.resolved_incidents);
  const windows = (doc) => doc.maintenance;
  const incident = shows(incidents, () => false);
  const window_ = shows(windows, (w) => w.cancelled || w.status === "completed");
  // Started: the page lists the window as in progress (or already over, when the start was
  // announced late and its end follows).
  const started = (w) => sync((doc) => {
    const found = findId(windows(doc), w.id);
    return !found || found.status !== "scheduled";
  });
  const handlers = {
    snapshot: render,
    component_changed: onComponent,
    global_changed: (d) => setHeadline(d.status, d.message),
    group_changed: () => sync(),  // a group added, renamed, described, collapsed or removed
    settings_changed: (d) => sync((doc) => doc.page.title === d.title && doc.page.timezone === d.timezone),
    incident_created: incident, incident_updated: incident, incident_resolved: incident,
    incident_deleted: shows(incidents, () => true),
    maintenance_scheduled: window_, maintenance_updated: window_, maintenance_started: started,
    maintenance_ended: window_, maintenance_deleted: shows(windows, () => true),
  };

  function showLive(up, state) {
    live.hidden = false;
    live.classList.toggle("is-down", !up);
    liveState.textContent = state || (up ? text.live : text.reconnecting);
  }
  function showUpdated() {
    const p = updatedAt && parts(updatedAt);
    if (p) {
      live.querySelector(".live-updated").textContent =
        text.updated.replace("{time}", `${p.hour}:${p.minute}:${p.second}`);
    }
  }
  const receive = (kind) => (event) => {
    const id = parseInt(event.lastEventId, 10) || 0;
    if (kind !== "snapshot" && id && id <= lastId) return;  // published twice, or replayed
    lastId = id || lastId;
    let data;
    try { data = JSON.parse(event.data); } catch (notJson) { return; }
    if (syncing) again = true;
    updatedAt = new Date();
    handlers[kind](data);
    showUpdated();
  };
  // EventSource reconnects by itself, sending Last-Event-ID. It gives up only when the server
  // answers with an error: then start over later, asking for what was missed.
  function connect() {
    source = new EventSource("/status/events" + (lastId ? `?last_event_id=${lastId}` : ""));
    source.onopen = () => { showLive(true); retryDelay = 1000; };
    source.onerror = () => {
      showLive(false);
      if (source.readyState !== EventSource.CLOSED) return;
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    };
    for (const kind in handlers) source.addEventListener(`status.${kind}`, receive(kind));
  }

  setZone(document.body.dataset.timezone);
  showLive(false, text.connecting);
  connect();
})();
