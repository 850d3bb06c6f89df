// The copy buttons of the API tokens page: a <button data-copy="ID"> copies
// the value of the field with that id. The buttons are hidden in the HTML,
// and shown here, so that a browser without JavaScript shows the read-only
// field alone, whose text can be selected and copied by hand.
"use strict";

(function () {
  function copied(button, message) {
    var status = button.closest(".card").querySelector(".copy-status");

    if (status) {
      status.textContent = message;
    }
  }

  function copy(button) {
    var field = document.getElementById(button.dataset.copy);

    if (!field) {
      return;
    }

    field.focus();
    field.select();

    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () {
          copied(button, "Copied to the clipboard.");
        },
        function () {
          copied(button, "Could not copy: select the token and copy it yourself.");
        }
      );
      return;
    }

    // Plain http on a host other than localhost: no Clipboard API.
    var done = false;

    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }

    copied(
      button,
      done ? "Copied to the clipboard." : "Could not copy: select the token and copy it yourself."
    );
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(button);
    });
  });

  // A click in the field selects all of it, ready to copy by hand.
  document.querySelectorAll("input.token-value").forEach(function (field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  });
})();
