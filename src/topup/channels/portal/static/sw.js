/* The portal's service worker, served at /sw.js (scope /) by channels/portal/pwa.py, which
   puts the CONFIG in: the version, the static shell and the offline page of each language.

   What it keeps, in one cache per version ("topup-<version>"):
   - the static shell (stylesheet, script, icons), answered from the cache first. The version
     is a hash of these files and of the offline pages, so a deploy that changes any of them
     is a new worker: it fetches them anew, takes over, and deletes the older caches;
   - the offline page in English and Chinese, shown when a page cannot be loaded.

   What it never keeps: pages (HTML) and API answers. Pages show a traveller's balance, data
   left and orders; one answered from a cache would show an old balance as if it were
   current (and, on a shared phone, someone else's). So a page always comes from the
   network, and the offline page, which shows nothing of an account, is its only fallback.
   Every other request (the API, the order page's polling, receipts, forms) is not touched. */
"use strict";

const CONFIG = __CONFIG__;
const CACHE = "topup-" + CONFIG.version;
const PREFIX = "topup-";
// The language of the last page seen, kept in the cache under this address (portal.js
// posts it), so the offline page speaks the traveller's chosen language, not only the phone's.
const LANGUAGE = "/offline/language";

self.addEventListener("install", function (event) {
  // cache "reload": past the browser's HTTP cache, which may hold the last deploy's files.
  var urls = CONFIG.shell.concat(Object.keys(CONFIG.offline).map(function (lang) {
    return CONFIG.offline[lang];
  }));
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(urls.map(function (url) { return new Request(url, { cache: "reload" }); }));
  }).then(function () {
    // Pages are never cached, so nothing open depends on the old worker's cache: take over.
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    // The page request starts while the worker wakes up, instead of after.
    return self.registration.navigationPreload ? self.registration.navigationPreload.enable()
      : null;
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var lang = event.data && event.data.lang;
  if (typeof lang === "string" && Object.prototype.hasOwnProperty.call(CONFIG.offline, lang)) {
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      return cache.put(LANGUAGE, new Response(lang, { headers: { "Content-Type": "text/plain" } }));
    }));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (!url.search && CONFIG.shell.indexOf(url.pathname) !== -1) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname);
    }).then(function (hit) { return hit || fetch(request); }));
  }
  // Anything else goes to the network as if there were no worker (see the top).
});

/* A page: from the network only; when that fails (no connection, the server down), the
   offline page. A page the server answers with an error is shown as it is. */
function page(event) {
  return Promise.resolve(event.preloadResponse).then(function (preloaded) {
    return preloaded || fetch(event.request);
  }).catch(offline);
}

function offline() {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(LANGUAGE).then(function (saved) {
      return saved ? saved.text() : "";
    }).then(function (saved) {
      var lang = CONFIG.offline[saved] ? saved : phoneLanguage();
      return cache.match(CONFIG.offline[lang]);
    });
  }).then(function (hit) {
    return hit || Response.error();
  });
}

function phoneLanguage() {
  var tag = (self.navigator.language || "").toLowerCase();
  return tag.indexOf("zh") === 0 ? "zh-CN" : "en";
}
