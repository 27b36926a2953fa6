// One simulated phone: draws the chat from the control API and turns taps into user actions.
// Everything the bot sent is untrusted: it is only ever put into the page as text, never HTML.
"use strict";
(function () {
  const phone = document.getElementById("phone");
  const userId = phone.dataset.userId;
  const base = "/_sim/users/" + encodeURIComponent(userId);
  const chatEl = document.getElementById("chat");
  let lastRendered = "";
  let pickerAction = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function post(action, body, contentType) {
    const response = await fetch(base + "/" + action, {
      method: "POST",
      headers: {"Content-Type": contentType || "application/json"},
      body: contentType ? body : JSON.stringify(body || {}),
    });
    const result = await response.json().catch(() => ({}));
    if (!response.ok) alert(result.message || "エラー");
    await refresh();
    return result;
  }

  // -- actions (buttons, chips, rich-menu areas) ------------------------------------------------

  function doAction(action) {
    if (!action) return;
    switch (action.type) {
      case "postback":
        post("postback", {data: action.data, displayText: action.displayText || action.text});
        break;
      case "message":
        post("text", {text: action.text});
        break;
      case "uri":
        window.open(action.uri, "_blank", "noopener");
        post("uri", {uri: action.uri});
        break;
      case "datetimepicker":
        openPicker(action);
        break;
      case "cameraRoll":
      case "camera":
        document.getElementById("photo").click();
        break;
      default:
        alert("この操作はシミュレーターでは使えません: " + action.type);
    }
  }

  function openPicker(action) {
    pickerAction = action;
    const input = document.getElementById("picker-input");
    input.type = {date: "date", time: "time"}[action.mode] || "datetime-local";
    input.value = action.initial || "";
    document.getElementById("picker").hidden = false;
  }

  document.getElementById("picker-ok").addEventListener("click", () => {
    const value = document.getElementById("picker-input").value;
    document.getElementById("picker").hidden = true;
    if (pickerAction && value) {
      post("datetime", {data: pickerAction.data, mode: pickerAction.mode || "datetime", value});
    }
    pickerAction = null;
  });
  document.getElementById("picker-cancel").addEventListener("click", () => {
    document.getElementById("picker").hidden = true;
    pickerAction = null;
  });

  // -- Flex messages ----------------------------------------------------------------------------

  const SIZES = {xxs: "0.65em", xs: "0.75em", sm: "0.85em", md: "0.95em", lg: "1.1em",
                 xl: "1.25em", xxl: "1.45em", "3xl": "1.7em", "4xl": "2em", "5xl": "2.4em"};

  function flex(node) {
    if (!node || typeof node !== "object") return el("span");
    switch (node.type) {
      case "carousel": {
        const wrap = el("div", "flex-carousel");
        (node.contents || []).forEach((bubble) => wrap.appendChild(flex(bubble)));
        return wrap;
      }
      case "bubble": {
        const bubble = el("div", "flex-bubble size-" + (node.size || "mega"));
        ["header", "hero", "body", "footer"].forEach((part) => {
          if (!node[part]) return;
          const section = el("div", "flex-" + part);
          const style = (node.styles || {})[part] || {};
          if (style.backgroundColor) section.style.backgroundColor = style.backgroundColor;
          section.appendChild(flex(node[part]));
          bubble.appendChild(section);
        });
        if (node.action) bubble.addEventListener("click", () => doAction(node.action));
        return bubble;
      }
      case "box": {
        const box = el("div", "flex-box layout-" + (node.layout || "vertical"));
        if (node.spacing) box.classList.add("spacing-" + node.spacing);
        if (node.backgroundColor) box.style.backgroundColor = node.backgroundColor;
        if (node.paddingAll) box.style.padding = SIZES[node.paddingAll] ? "8px" : node.paddingAll;
        if (node.cornerRadius) box.style.borderRadius = "8px";
        (node.contents || []).forEach((child) => box.appendChild(flex(child)));
        if (node.action) {
          box.classList.add("tappable");
          box.addEventListener("click", () => doAction(node.action));
        }
        return box;
      }
      case "text": {
        const text = el("p", "flex-text", node.contents ? "" : node.text);
        (node.contents || []).forEach((span) => {
          const s = el("span", "", span.text);
          if (span.weight === "bold") s.style.fontWeight = "bold";
          if (span.color) s.style.color = span.color;
          text.appendChild(s);
        });
        if (node.weight === "bold") text.style.fontWeight = "bold";
        if (node.color) text.style.color = node.color;
        if (SIZES[node.size]) text.style.fontSize = SIZES[node.size];
        if (node.align) text.style.textAlign = node.align;
        if (!node.wrap) text.classList.add("nowrap");
        if (node.action) text.addEventListener("click", () => doAction(node.action));
        return text;
      }
      case "button": {
        const action = node.action || {};
        const button = el("button", "flex-button style-" + (node.style || "link"),
                          action.label || "(ボタン)");
        button.type = "button";
        if (node.color && node.style === "primary") button.style.backgroundColor = node.color;
        if (node.color && node.style !== "primary") button.style.color = node.color;
        button.addEventListener("click", () => doAction(action));
        return button;
      }
      case "image": {
        const img = el("img", "flex-image");
        img.src = node.url;
        img.alt = "";
        if (node.action) img.addEventListener("click", () => doAction(node.action));
        return img;
      }
      case "icon": {
        const img = el("img", "flex-icon");
        img.src = node.url;
        img.alt = "";
        return img;
      }
      case "separator":
        return el("hr", "flex-separator");
      case "spacer":
      case "filler":
        return el("div", "flex-filler");
      case "video":
        return el("div", "flex-video", "▶ 動画");
      default:
        return el("span", "muted", "[" + node.type + "]");
    }
  }

  // -- messages ---------------------------------------------------------------------------------

  function botMessage(message) {
    switch (message.type) {
      case "text":
      case "textV2":
        return el("div", "bubble bot", message.text);
      case "image": {
        const img = el("img", "chat-image");
        img.src = message.previewImageUrl || message.originalContentUrl;
        img.alt = "画像";
        return img;
      }
      case "flex":
        return flex(message.contents);
      case "template": {
        const t = message.template || {};
        const card = el("div", "flex-bubble");
        const body = el("div", "flex-body");
        if (t.title) body.appendChild(el("p", "flex-text bold", t.title));
        body.appendChild(el("p", "flex-text", t.text || message.altText));
        card.appendChild(body);
        const footer = el("div", "flex-footer");
        (t.actions || []).forEach((a) => footer.appendChild(flex({type: "button", action: a})));
        card.appendChild(footer);
        return card;
      }
      case "sticker":
        return el("div", "bubble bot", "（スタンプ）");
      default:
        return el("div", "bubble bot muted", "[" + message.type + "] " + (message.altText || ""));
    }
  }

  const NOTES = {follow: "友だち追加しました", unblock: "ブロックを解除しました",
                 block: "ブロックしました"};

  function userEntry(entry) {
    switch (entry.kind) {
      case "text":
        return el("div", "bubble user", entry.text);
      case "image": {
        const img = el("img", "chat-image user");
        img.src = "/_sim/content/" + encodeURIComponent(entry.messageId);
        img.alt = "送った写真";
        return img;
      }
      case "postback":
        if (entry.displayText) return el("div", "bubble user", entry.displayText);
        return el("div", "note", entry.params ? "日時を選びました: " + Object.values(entry.params).join(" ")
                                              : "ボタンをタップしました");
      case "uri":
        return el("div", "note", "リンクを開きました: " + entry.uri);
      default:
        return el("div", "note", NOTES[entry.kind] || entry.kind);
    }
  }

  function renderChat(chat) {
    chatEl.replaceChildren();
    chat.entries.forEach((entry) => {
      const row = el("div", "row " + (entry.from === "bot" ? "from-bot" : "from-user"));
      if (entry.from === "bot") {
        row.appendChild(el("div", "avatar", "回"));
        row.appendChild(botMessage(entry.message));
      } else {
        row.appendChild(userEntry(entry));
      }
      chatEl.appendChild(row);
    });
    chatEl.scrollTop = chatEl.scrollHeight;

    const chips = document.getElementById("quick-replies");
    chips.replaceChildren();
    chat.quickReply.forEach((item) => {
      const chip = el("button", "chip", (item.action || {}).label || "…");
      chip.type = "button";
      chip.addEventListener("click", () => doAction(item.action));
      chips.appendChild(chip);
    });

    const following = chat.user.state === "following";
    document.getElementById("friend-bar").hidden = following;
    document.getElementById("add-friend").textContent =
      chat.user.state === "blocked" ? "ブロック解除" : "友だち追加";
    const toggle = document.getElementById("block-toggle");
    toggle.hidden = chat.user.state === "new";
    toggle.textContent = chat.user.state === "blocked" ? "ブロック解除" : "ブロック";
    renderRichMenu(chat.richMenu);
  }

  function renderRichMenu(menu) {
    const wrap = document.getElementById("rich-menu");
    wrap.hidden = !menu;
    if (!menu) return;
    document.getElementById("chat-bar").textContent = (menu.chatBarText || "メニュー") + " ▾";
    const body = document.getElementById("rich-menu-body");
    body.replaceChildren();
    const size = menu.size || {width: 2500, height: 1686};
    body.style.aspectRatio = size.width + " / " + size.height;
    if (menu.hasImage) {
      const img = el("img", "rich-menu-image");
      img.src = "/_sim/richmenus/" + encodeURIComponent(menu.richMenuId) + "/image";
      img.alt = "";
      body.appendChild(img);
    }
    (menu.areas || []).forEach((area) => {
      const b = area.bounds;
      const label = (area.action || {}).label || (area.action || {}).text || "";
      const button = el("button", "rich-area" + (menu.hasImage ? "" : " visible"), label);
      button.type = "button";
      button.style.left = (100 * b.x / size.width) + "%";
      button.style.top = (100 * b.y / size.height) + "%";
      button.style.width = (100 * b.width / size.width) + "%";
      button.style.height = (100 * b.height / size.height) + "%";
      button.addEventListener("click", () => doAction(area.action));
      body.appendChild(button);
    });
  }

  async function refresh() {
    const response = await fetch(base + "/chat");
    if (!response.ok) return;
    const text = await response.text();
    if (text === lastRendered) return;
    lastRendered = text;
    renderChat(JSON.parse(text));
    fetch(base + "/read", {method: "POST"});
  }

  // -- the input bar and the buttons around it --------------------------------------------------

  document.getElementById("input-bar").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("message-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    post("text", {text});
  });
  document.getElementById("photo").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) post("image", file, file.type || "image/jpeg");
    event.target.value = "";
  });
  document.getElementById("add-friend").addEventListener("click", () => {
    post(document.getElementById("add-friend").textContent === "ブロック解除" ? "unblock" : "follow");
  });
  document.getElementById("block-toggle").addEventListener("click", () => {
    post(document.getElementById("block-toggle").textContent === "ブロック" ? "block" : "unblock");
  });
  document.getElementById("chat-bar").addEventListener("click", () => {
    document.getElementById("rich-menu").classList.toggle("collapsed");
  });

  refresh();
  setInterval(refresh, 1000);
})();
