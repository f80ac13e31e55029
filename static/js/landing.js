// Landing page: collect a username or an export file plus options, start a run, go to the results.
import {
  GENRES, MOODS, USERNAME_MAX_LENGTH, USERNAME_RULE, apiError, defaultCountry, fillCountrySelect, formatBytes, h,
  busyMessage, errorTitle, fetchWithRetry, hideAlert, initThemeToggle, markReady, parseUsername, rememberCountry,
  showAlert,
} from "./common.js";
import { feedbackField } from "./feedback.js";
import { resultsUrl } from "./links.js";
import { initListInput, listValue } from "./list-input.js";

const ACCEPTED_EXTENSIONS = [".zip", ".csv"];
const SAMPLE_EXPORT_URL = "/static/sample_export.zip";

const form = document.getElementById("recommend-form");
const usernameInput = document.getElementById("username");
const usernameError = document.getElementById("username-error");
const fileInput = document.getElementById("export-file");
const dropzone = document.getElementById("dropzone");
const fileChosen = document.getElementById("file-chosen");
const fileError = document.getElementById("export-error");
const countrySelect = document.getElementById("country");
const categorySelect = document.getElementById("category");
const streamingInput = document.getElementById("include-streaming");
const contributeInput = document.getElementById("contribute");
const countSelect = document.getElementById("count");
const formAlert = document.getElementById("form-alert");
const submitButton = document.getElementById("submit");
const submitLabel = document.getElementById("submit-label");

let chosenFile = null;

function init() {
  initThemeToggle(document.getElementById("theme-toggle"));
  fillCountrySelect(countrySelect, defaultCountry());
  countrySelect.addEventListener("change", () => rememberCountry(countrySelect.value));
  buildMoods();
  document.getElementById("mood-grid").addEventListener("change", updateSubmitLabel);
  for (const genre of GENRES) categorySelect.appendChild(h("option", { value: genre }, genre));
  usernameInput.addEventListener("input", () => {
    setFieldError(usernameInput, usernameError, "");
    if (usernameInput.value.trim() && chosenFile) clearFile();
    updateSubmitLabel();
  });
  usernameInput.addEventListener("blur", () => {
    if (usernameInput.value.trim()) validateUsername();
  });
  fileInput.addEventListener("change", () => {
    if (fileInput.files && fileInput.files[0]) chooseFile(fileInput.files[0]);
  });
  document.getElementById("file-clear").addEventListener("click", () => {
    clearFile();
    fileInput.focus();
  });
  document.getElementById("sample-use").addEventListener("click", useSample);
  wireDropzone();
  initListInput();
  form.addEventListener("submit", onSubmit);
  updateSubmitLabel();
  markReady();
}

function buildMoods() {
  const grid = document.getElementById("mood-grid");
  const options = [["", "Any mood", "Let your ratings decide"], ...MOODS];
  for (const [value, label, description] of options) {
    const id = `mood-${value || "any"}`;
    grid.appendChild(h("div", { class: "mood" },
      h("input", { type: "radio", name: "mood", id, value, checked: value === "" }),
      h("label", { for: id },
        h("span", { class: "mood-name" }, label),
        h("span", { class: "mood-description" }, description))));
  }
}

function setFieldError(input, region, message) {
  region.textContent = message;
  region.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function validateUsername() {
  const raw = usernameInput.value.trim();
  if (!raw) {
    setFieldError(usernameInput, usernameError, "Enter your Letterboxd username, upload your export, or pick a mood below.");
    return null;
  }
  const username = parseUsername(raw);
  if (!username) {
    const message = USERNAME_MAX_LENGTH && raw.length > USERNAME_MAX_LENGTH
      ? `That is longer than a Letterboxd username can be (${USERNAME_MAX_LENGTH} characters at most).`
      : USERNAME_RULE || "That is not a Letterboxd username.";
    setFieldError(usernameInput, usernameError, message);
    return null;
  }
  if (username !== raw) usernameInput.value = username;
  setFieldError(usernameInput, usernameError, "");
  return username;
}

function chooseFile(file) {
  const name = file.name.toLowerCase();
  if (!ACCEPTED_EXTENSIONS.some((ext) => name.endsWith(ext))) {
    setFieldError(fileInput, fileError,
      `"${file.name}" is not a ZIP or CSV file. Upload the ZIP Letterboxd emailed you, or one of its CSV files.`);
    return;
  }
  if (file.size === 0) {
    setFieldError(fileInput, fileError, `"${file.name}" is empty.`);
    return;
  }
  chosenFile = file;
  setFieldError(fileInput, fileError, "");
  setFieldError(usernameInput, usernameError, "");
  document.getElementById("file-name").textContent = file.name;
  document.getElementById("file-size").textContent = formatBytes(file.size);
  fileChosen.hidden = false;
  dropzone.classList.add("has-file");
  updateSubmitLabel();
}

function clearFile() {
  chosenFile = null;
  fileInput.value = "";
  fileChosen.hidden = true;
  dropzone.classList.remove("has-file");
  setFieldError(fileInput, fileError, "");
  updateSubmitLabel();
}

function chosenMood() {
  const mood = form.querySelector('input[name="mood"]:checked');
  return mood && mood.value ? mood.value : null;
}

function updateSubmitLabel() {
  if (chosenFile) submitLabel.textContent = "Get recommendations from my export";
  else if (!usernameInput.value.trim() && chosenMood()) submitLabel.textContent = "Get mood picks, no account needed";
  else submitLabel.textContent = "Get recommendations";
}

function wireDropzone() {
  const stop = (event) => {
    event.preventDefault();
    event.stopPropagation();
  };
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      stop(event);
      dropzone.classList.add("is-dragging");
    });
  }
  for (const type of ["dragleave", "dragend"]) {
    dropzone.addEventListener(type, (event) => {
      stop(event);
      if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove("is-dragging");
    });
  }
  dropzone.addEventListener("drop", (event) => {
    stop(event);
    dropzone.classList.remove("is-dragging");
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) chooseFile(files[0]);
  });
  // A file dropped outside the zone must not make the browser navigate away from the form.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

async function useSample() {
  try {
    const response = await fetch(SAMPLE_EXPORT_URL);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const blob = await response.blob();
    usernameInput.value = "";
    chooseFile(new File([blob], "sample_export.zip", { type: "application/zip" }));
    submitButton.focus();
  } catch (err) {
    setFieldError(fileInput, fileError, "The sample export is not available on this server.");
  }
}

function commonFields() {
  return {
    country: countrySelect.value,
    include_streaming: streamingInput.checked,
    count: Number(countSelect.value),
    mood: chosenMood(),
    category: categorySelect.value || null,
    contribute: contributeInput.checked,
  };
}

function setBusy(busy) {
  submitButton.disabled = busy;
  submitButton.classList.toggle("is-busy", busy);
  form.setAttribute("aria-busy", busy ? "true" : "false");
  if (busy) submitLabel.textContent = chosenFile ? "Uploading…" : "Starting…";
  else updateSubmitLabel();
}

async function onSubmit(event) {
  event.preventDefault();
  hideAlert(formAlert);
  const fields = commonFields();
  const fromList = await listValue();
  if (fromList) fields.from_list = fromList;
  const feedback = feedbackField();
  let request;
  let username = null;
  if (chosenFile) {
    const data = new FormData();
    data.append("export", chosenFile, chosenFile.name);
    for (const [key, value] of Object.entries(fields)) {
      if (value !== null) data.append(key, String(value));
    }
    if (feedback) data.append("feedback", JSON.stringify(feedback));
    request = { method: "POST", body: data };
  } else if (!usernameInput.value.trim() && fields.mood) {
    // A mood on its own: picks for someone with no Letterboxd account.
    request = {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ ...fields, contribute: false }),
    };
  } else {
    username = validateUsername();
    if (!username) {
      usernameInput.focus();
      return;
    }
    request = {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(feedback ? { username, ...fields, feedback } : { username, ...fields }),
    };
  }
  rememberCountry(fields.country);
  setBusy(true);
  try {
    const response = await fetchWithRetry("/api/recommend", request, (left) => {
      submitLabel.textContent = busyMessage(left);
      showAlert(formAlert, { title: busyMessage(left), message: "Many members are asking at once.", tone: "info" });
    });
    hideAlert(formAlert);
    if (!response.ok) throw await apiError(response);
    const accepted = await response.json();
    window.location.assign(resultsUrl({
      username: chosenFile ? null : accepted.username || username,
      requestId: accepted.request_id,
      ...fields,
    }));
  } catch (err) {
    setBusy(false);
    reportError(err, Boolean(chosenFile));
  }
}

function reportError(err, upload) {
  if (err.status === undefined) {
    showAlert(formAlert, {
      title: "Could not reach the server",
      message: "Check your connection and try again.",
    });
    return;
  }
  const title = upload ? "That export could not be used" : titleFor(err);
  showAlert(formAlert, { title, message: err.message, hint: err.hint });
  if (!upload && (err.status === 404 || err.code === "invalid_username")) {
    usernameInput.setAttribute("aria-invalid", "true");
    usernameInput.focus();
  }
}

function titleFor(err) {
  return errorTitle(err, err.status >= 500 ? "Something went wrong" : "Please check the form");
}

init();
