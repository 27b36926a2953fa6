// "New phone": create a simulated user through the control API, then open its phone.
"use strict";
document.getElementById("new-phone").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = document.getElementById("display-name").value.trim();
  if (!name) return;
  const response = await fetch("/_sim/users", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({displayName: name}),
  });
  const body = await response.json();
  if (response.ok) {
    window.location.href = "/phones/" + encodeURIComponent(body.userId);
  } else {
    alert(body.message || "作成できませんでした");
  }
});
