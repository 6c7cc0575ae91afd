// The storefront's one script: the cart, kept in localStorage. Every page works without it
// (the forms post to /cart, which keeps a cookie cart); this turns "add to cart" into an
// in-page action and renders the cart page from localStorage. Text goes in through
// textContent only, never as HTML.
(() => {
  const KEY = 'cart';
  const COOKIE = 'cart';
  const MAX_QUANTITY = 99;
  const MAX_LINES = 50;
  const locale = document.documentElement.lang || 'en';

  const validLine = (line) =>
    line !== null &&
    typeof line === 'object' &&
    typeof line.variant_id === 'string' &&
    Number.isInteger(line.quantity) &&
    line.quantity > 0;

  function readCart() {
    try {
      const lines = JSON.parse(localStorage.getItem(KEY) || '[]');
      return Array.isArray(lines) ? lines.filter(validLine).slice(0, MAX_LINES) : [];
    } catch {
      return [];
    }
  }

  function writeCart(lines) {
    try {
      localStorage.setItem(KEY, JSON.stringify(lines));
    } catch {
      // Storage full or blocked (private mode): the cart lasts as long as the page.
    }
    showCount(lines);
  }

  /** Minor units as a price, the way the server formats them (Intl, the page's language). */
  function price(minor, currency) {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  }

  function showCount(lines) {
    const count = lines.reduce((sum, line) => sum + line.quantity, 0);
    for (const badge of document.querySelectorAll('[data-cart-count]')) {
      badge.textContent = new Intl.NumberFormat(locale).format(count);
      badge.hidden = count === 0;
    }
  }

  /** Adds a line, or raises the quantity of the line for the same variant. */
  function addLine(lines, line) {
    const existing = lines.find((other) => other.variant_id === line.variant_id);
    if (existing) existing.quantity = Math.min(existing.quantity + line.quantity, MAX_QUANTITY);
    else if (lines.length < MAX_LINES) lines.push(line);
    return lines;
  }

  // ---- item page: add to cart without leaving the page

  for (const form of document.querySelectorAll('form[data-add-to-cart]')) {
    form.addEventListener('submit', (event) => {
      const chosen = form.querySelector(
        '[name="variant_id"]:checked, input[type="hidden"][name="variant_id"]',
      );
      const quantity = Number(form.querySelector('[name="quantity"]')?.value);
      if (!chosen || !Number.isInteger(quantity) || quantity < 1) return;
      event.preventDefault();
      writeCart(
        addLine(readCart(), {
          variant_id: chosen.value,
          quantity: Math.min(quantity, MAX_QUANTITY),
          title: form.dataset.title,
          href: form.dataset.href,
          label: chosen.dataset.label,
          price_minor: Number(chosen.dataset.priceMinor),
          currency: form.dataset.currency,
          image: form.dataset.image,
        }),
      );
      const status = form.querySelector('[data-cart-status]');
      if (status) status.textContent = status.dataset.added;
    });
  }

  /**
   * Lines added without JavaScript come in the cookie, rendered by the server (cart and
   * checkout pages): moves them into localStorage (taking the larger quantity, so doing it
   * twice changes nothing), clears the cookie and returns the cart.
   */
  function adoptCookieLines(container) {
    const lines = readCart();
    for (const item of container.querySelectorAll('[data-cart-line]')) {
      const line = {
        variant_id: item.dataset.variantId,
        quantity: Number(item.dataset.quantity),
        title: item.dataset.title,
        href: item.dataset.href,
        label: item.dataset.label,
        price_minor: Number(item.dataset.priceMinor),
        currency: item.dataset.currency,
        image: item.dataset.image,
      };
      if (!validLine(line)) continue;
      const existing = lines.find((other) => other.variant_id === line.variant_id);
      if (existing) existing.quantity = Math.max(existing.quantity, line.quantity);
      else lines.push(line);
    }
    writeCart(lines);
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser the shop serves.
    document.cookie = `${COOKIE}=; Max-Age=0; Path=/; SameSite=Lax; Secure`;
    return lines;
  }

  // ---- cart page

  const cart = document.querySelector('[data-cart]');
  if (cart) {
    const list = cart.querySelector('[data-cart-lines]');
    const form = cart.querySelector('[data-cart-form]');
    const template = document.getElementById('cart-line-template');

    let lines = adoptCookieLines(list);
    for (const element of cart.querySelectorAll('[data-no-script]')) element.hidden = true;

    const field = (element, name) => element.querySelector(`[data-field="${name}"]`);

    function render() {
      list.replaceChildren();
      for (const line of lines) {
        const item = template.content.firstElementChild.cloneNode(true);
        item.dataset.variantId = line.variant_id;
        const id = `quantity-${line.variant_id}`;
        const title = field(item, 'title');
        title.textContent = line.title || '';
        if (typeof line.href === 'string' && line.href.startsWith('/')) title.href = line.href;
        field(item, 'label').textContent = line.label || '';
        field(item, 'price').textContent =
          Number.isFinite(line.price_minor) && line.currency ? price(line.price_minor, line.currency) : '';
        const label = field(item, 'quantity-label');
        label.textContent = label.dataset.template.replace('{item}', line.title || '');
        label.htmlFor = id;
        const quantity = field(item, 'quantity');
        quantity.id = id;
        quantity.value = String(line.quantity);
        quantity.dataset.variantId = line.variant_id;
        field(item, 'remove').value = line.variant_id;
        const image = field(item, 'image');
        if (typeof line.image === 'string' && line.image.startsWith('https://')) image.src = line.image;
        else image.remove();
        list.append(item);
      }
      const currencies = new Set(lines.map((line) => line.currency));
      const subtotal = cart.querySelector('[data-cart-subtotal]');
      const [currency] = currencies;
      const priced =
        currencies.size === 1 && currency && lines.every((line) => Number.isFinite(line.price_minor));
      cart.querySelector('[data-cart-subtotal-row]').hidden = !priced;
      subtotal.textContent = priced
        ? price(
            lines.reduce((sum, line) => sum + line.price_minor * line.quantity, 0),
            currency,
          )
        : '';
      form.hidden = lines.length === 0;
      cart.querySelector('[data-cart-empty]').hidden = lines.length > 0;
    }

    list.addEventListener('change', (event) => {
      const input = event.target;
      if (!(input instanceof HTMLInputElement) || !input.dataset.variantId) return;
      const quantity = Math.min(Math.max(Math.trunc(Number(input.value)) || 0, 0), MAX_QUANTITY);
      lines = lines
        .map((line) => (line.variant_id === input.dataset.variantId ? { ...line, quantity } : line))
        .filter((line) => line.quantity > 0);
      writeCart(lines);
      render();
    });

    list.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest('[data-field="remove"]') : null;
      if (!button) return;
      event.preventDefault();
      lines = lines.filter((line) => line.variant_id !== button.value);
      writeCart(lines);
      render();
    });

    // Enter in a quantity field submits the form: apply the change here instead.
    form.addEventListener('submit', (event) => event.preventDefault());

    render();
  } else {
    showCount(readCart());
  }

  // ---- checkout page: the server prices the cart it is sent, so the page asks again with
  // the localStorage cart's lines in `?cart=` (the cookie's format) until they match.

  const checkout = document.querySelector('[data-checkout-sync]');
  if (checkout) {
    const wanted = adoptCookieLines(checkout)
      .map((line) => `${line.variant_id}:${line.quantity}`)
      .join('|');
    const url = new URL(location.href);
    if (wanted && url.searchParams.get('cart') !== wanted) {
      url.searchParams.set('cart', wanted);
      location.replace(url.href);
    }
  }

  // ---- order page, right after checkout: the order holds the cart's lines now

  if (document.querySelector('[data-order-placed]')) writeCart([]);
})();
