// Buttons marked data-print print the page (an onclick attribute would break the
// Content Security Policy, which allows scripts from files only).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
