// The storefront as the shop's Telegram Mini App. Outside Telegram (no launch parameters and no
// Telegram webview) it does nothing. Inside, it signs the buyer in with Telegram's initData,
// paints Telegram's header and background in the brand's colours, and drives Telegram's
// MainButton (checkout) and BackButton.
//
// The bridge to the Telegram client is written here rather than taken from
// @telegram-apps/bridge: the storefront has no bundler, that package's self-contained browser
// build is 32 KB (valibot and an event library included) for the handful of methods and two
// events used here, and the protocol is small and documented:
// https://docs.telegram-mini-apps.com/platform/methods and …/platform/events.
(() => {
  const LAUNCH_KEY = 'telegram-launch';
  const SIGNED_IN_KEY = 'telegram-signed-in';
  const TELEGRAM_WEB = 'https://web.telegram.org';
  const settings = document.currentScript?.dataset ?? {};

  const session = {
    get(key) {
      try {
        return sessionStorage.getItem(key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        sessionStorage.setItem(key, value);
      } catch {
        // Storage blocked: the next page inside the Mini App is simply not recognised.
      }
    },
  };

  // Telegram passes its launch parameters in the first page's URL hash only; later pages of
  // the same Mini App session read them back from sessionStorage.
  let launch = new URLSearchParams(location.hash.slice(1));
  if (launch.has('tgWebAppData')) {
    session.set(LAUNCH_KEY, launch.toString());
    // The signed initData has no business staying in the address bar or the history. The
    // entry is marked as the Mini App's first page: BackButton has nothing of ours behind it.
    history.replaceState({ ...history.state, telegramEntry: true }, '', location.pathname + location.search);
  } else {
    launch = new URLSearchParams(session.get(LAUNCH_KEY) ?? '');
  }
  if (!launch.has('tgWebAppData') && !window.TelegramWebviewProxy) return;

  const [major = 0, minor = 0] = (launch.get('tgWebAppVersion') ?? '6.0').split('.').map(Number);
  const supports = (version) => {
    const [wantedMajor, wantedMinor] = version.split('.').map(Number);
    return major > wantedMajor || (major === wantedMajor && minor >= wantedMinor);
  };
  const isFramed = window.parent !== window;

  /** Calls a Telegram client method: mobile webview, Windows desktop, or Telegram Web's parent frame. */
  function post(eventType, eventData = '') {
    const proxy = window.TelegramWebviewProxy;
    if (proxy && typeof proxy.postEvent === 'function') {
      proxy.postEvent(eventType, JSON.stringify(eventData));
    } else if (window.external && 'notify' in window.external) {
      window.external.notify(JSON.stringify({ eventType, eventData }));
    } else if (isFramed) {
      window.parent.postMessage(JSON.stringify({ eventType, eventData }), TELEGRAM_WEB);
    }
  }

  const handlers = {};
  const receiveEvent = (eventType, eventData) => handlers[eventType]?.(eventData);
  // Mobile and desktop clients call one of these globals; Telegram Web posts messages.
  window.Telegram = window.Telegram ?? {};
  window.Telegram.WebView = { ...window.Telegram.WebView, receiveEvent };
  window.TelegramGameProxy = { ...window.TelegramGameProxy, receiveEvent };
  window.TelegramGameProxy_receiveEvent = receiveEvent;
  if (isFramed) {
    window.addEventListener('message', (event) => {
      if (event.source !== window.parent || event.origin !== TELEGRAM_WEB) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message?.eventType === 'reload_iframe') {
        post('iframe_will_reload');
        location.reload();
      } else if (message?.eventType) {
        receiveEvent(message.eventType, message.eventData);
      }
    });
    post('iframe_ready', { reload_supported: true });
  }

  // ---- the brand in Telegram's own chrome

  const primary = document.querySelector('meta[name="theme-color"]')?.content;
  if (primary && supports('6.9')) post('web_app_set_header_color', { color: primary });
  if (settings.background && supports('6.1'))
    post('web_app_set_background_color', { color: settings.background });
  post('web_app_ready');
  post('web_app_expand');

  // ---- sign-in, once per launch

  // Pages whose HTML does not depend on the buyer: the catalog, items and the cart.
  const SAME_FOR_EVERY_BUYER = /^\/(?:items\/.*|cart)?$/;
  const initData = launch.get('tgWebAppData');
  const launchHash = initData ? new URLSearchParams(initData).get('hash') : null;
  if (initData && launchHash && session.get(SIGNED_IN_KEY) !== launchHash) {
    fetch('/api/storefront/telegram/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ init_data: initData }),
    })
      .then((response) => {
        // Refused (forged, stale, replayed) or not: initData signs in once, so never ask again.
        session.set(SIGNED_IN_KEY, launchHash);
        if (response.ok && !SAME_FOR_EVERY_BUYER.test(location.pathname)) location.reload();
      })
      // Offline: the buyer keeps shopping as a guest, and the next page asks again.
      .catch(() => {});
  }

  // ---- MainButton: checkout from the cart, place the order on the checkout page

  const cart = document.querySelector('[data-cart]');
  const cartForm = cart?.querySelector('[data-cart-form]');
  const checkoutForm = document.querySelector('form[data-checkout]');
  let submitting = false;

  function mainButton() {
    if (!checkoutForm && (!cartForm || cartForm.hidden)) {
      post('web_app_setup_main_button', { is_visible: false });
      return;
    }
    post('web_app_setup_main_button', {
      is_visible: true,
      is_active: !submitting,
      is_progress_visible: submitting,
      text: (checkoutForm ? settings.placeOrderLabel : settings.checkoutLabel) ?? '',
      color: settings.buttonColor,
      text_color: settings.buttonTextColor,
    });
  }

  handlers.main_button_pressed = () => {
    // requestSubmit, not submit: the browser checks the required fields first.
    if (checkoutForm && !submitting) checkoutForm.requestSubmit();
    // The cart's own checkout link, so the MainButton does whatever that link does.
    else if (cartForm && !cartForm.hidden) cartForm.querySelector('a[href^="/checkout"]')?.click();
  };
  checkoutForm?.addEventListener('submit', () => {
    submitting = true;
    mainButton();
  });
  // The cart script hides the cart form when the last line goes.
  if (cartForm) new MutationObserver(mainButton).observe(cartForm, { attributeFilter: ['hidden'] });
  // Back to a page from the browser's cache: its order is no longer being placed.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    submitting = false;
    mainButton();
  });
  mainButton();

  // ---- BackButton: everywhere but the catalog's first page

  const isHome =
    location.pathname === '/' &&
    [...new URLSearchParams(location.search).keys()].every((name) => name === 'lang');
  if (supports('6.1')) post('web_app_setup_back_button', { is_visible: !isHome });
  handlers.back_button_pressed = () => {
    // Not document.referrer: some pages send none (Referrer-Policy), and in Telegram Web the
    // history before the first page is Telegram's own.
    if (history.state?.telegramEntry) location.assign('/');
    else history.back();
  };
})();
