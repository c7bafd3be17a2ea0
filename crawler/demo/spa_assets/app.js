/* The demo single-page portal: renders the listing and article views from the JSON API. */
(function () {
  "use strict";
  var MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек",
                "қазан", "қараша", "желтоқсан"];
  var API = "/api/v1/public/content-manager/news";
  var SIZE = 20;
  var build = document.querySelector('meta[name="app-build"]').getAttribute("content");
  var app = document.getElementById("app");

  // FNV-1a over the UTF-8 bytes of "build|target": the API refuses requests without it.
  function token(target) {
    var bytes = new TextEncoder().encode(build + "|" + target);
    var hash = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      hash = Math.imul(hash ^ bytes[i], 0x01000193) >>> 0;
    }
    return ("0000000" + hash.toString(16)).slice(-8);
  }

  function api(target) {
    return fetch(target, {headers: {"X-Request-Token": token(target)}}).then(function (answer) {
      if (!answer.ok) { throw new Error("API " + answer.status); }
      return answer.json();
    });
  }

  function kazakhDate(iso, showTime) {
    var parts = iso.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
    var day = Number(parts[3]) + " " + MONTHS[Number(parts[2]) - 1] + " " + parts[1];
    return showTime ? day + ", " + parts[4] + ":" + parts[5] : day;
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) { node.textContent = text; }
    return node;
  }

  var path = location.pathname;
  var region = (path.match(/\/memleket\/entities\/([^/]+)\//) || [])[1];
  var newsPath = "/memleket/entities/" + region + "/press/news";
  var detail = path.match(/\/press\/news\/details\/(\d+)$/);
  app.textContent = "";
  var header = element("header", {"class": "portal-header"});
  header.appendChild(element("a", {href: newsPath}, "Атырау облысы әкімдігі — Жаңалықтар"));
  app.appendChild(header);
  var main = element("main");
  app.appendChild(main);

  function showListing() {
    main.appendChild(element("h1", {}, "Жаңалықтар / Новости"));
    var list = element("ul", {"class": "news-list"});
    main.appendChild(list);
    var more = element("button", {id: "load-more", type: "button"}, "Тағы жүктеу");
    var page = 0;
    function load() {
      more.disabled = true;
      return api(API + "?projects=eq:" + region + "&page=" + page + "&size=" + SIZE).then(function (data) {
        data.content.forEach(function (item) {
          var row = element("li", {"class": "news-item"});
          row.appendChild(element("a", {href: newsPath + "/details/" + item.id}, item.title));
          row.appendChild(element("span", {"class": "news-date"}, kazakhDate(item.publishDate, item.showTime)));
          list.appendChild(row);
        });
        page += 1;
        more.disabled = false;
        if (data.last) { more.remove(); }
      });
    }
    more.addEventListener("click", load);
    main.appendChild(more);
    load();
  }

  function showArticle(id) {
    api(API + "/" + id + "?projects=eq:" + region).then(function (item) {
      document.title = item.title;
      document.documentElement.setAttribute("lang", item.lang);
      var article = element("article", {"class": "news-detail"});
      article.appendChild(element("h1", {}, item.title));
      article.appendChild(element("div", {"class": "news-date"}, kazakhDate(item.publishDate, item.showTime)));
      article.appendChild(element("img", {src: item.image, alt: ""}));
      var content = element("div", {"class": "news-content"});
      content.innerHTML = item.content;
      article.appendChild(content);
      main.appendChild(article);
      main.appendChild(element("a", {href: newsPath, "class": "back"}, "Барлық жаңалықтар"));
    });
  }

  if (detail) { showArticle(detail[1]); } else { showListing(); }
})();
