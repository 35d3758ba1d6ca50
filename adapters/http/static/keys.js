// Keys typed by the person at the page, kept in sessionStorage (gone with the tab) and sent
// only as "Authorization: Bearer" headers on this origin's API fetches.
export function getKey(name) {
  return sessionStorage.getItem(`parley.${name}`) || "";
}

export function setKey(name, value) {
  if (value) sessionStorage.setItem(`parley.${name}`, value);
  else sessionStorage.removeItem(`parley.${name}`);
}

export function bearer(name) {
  const key = getKey(name);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** Wire a <form> with one password input to store the key named `name`. */
export function keyForm(form, name, onSaved) {
  const input = form.querySelector("input");
  input.value = getKey(name);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(name, input.value.trim());
    onSaved();
  });
}
