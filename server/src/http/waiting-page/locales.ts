/**
 * Texts of the default waiting page, per language. `element` are the texts of
 * `<waiting-room-position>` (see client-sdk/src/format.ts); `page` fill the template's `{{t.*}}`.
 * An operator adds or overrides languages with WAITING_PAGE_STRINGS (a JSON file of this shape).
 */
export interface PageLocale {
  page: Record<'title' | 'heading' | 'intro' | 'keep_open' | 'noscript' | 'footer' | 'closed_heading' | 'closed_intro', string>;
  element: Record<string, unknown>;
}

export const LOCALES: Record<string, PageLocale> = {
  en: {
    page: {
      title: 'You are in line',
      heading: 'You are in line',
      intro: 'This site is busy right now. We will let you in as soon as it is your turn.',
      keep_open: 'Keep this page open: it holds your place, also if you reload it.',
      noscript: 'This waiting room needs JavaScript to hold your place in line.',
      footer: 'Waiting room',
      closed_heading: 'This queue is closed',
      closed_intro: 'It takes no new visitors right now (sold out or not open yet). Please come back later.',
    },
    element: {},
  },
  de: {
    page: {
      title: 'Sie sind in der Warteschlange',
      heading: 'Sie sind in der Warteschlange',
      intro: 'Die Seite ist gerade sehr gefragt. Sobald Sie an der Reihe sind, geht es automatisch weiter.',
      keep_open: 'Lassen Sie diese Seite offen: Sie hält Ihren Platz, auch wenn Sie sie neu laden.',
      noscript: 'Dieser Warteraum braucht JavaScript, um Ihren Platz zu halten.',
      footer: 'Warteraum',
      closed_heading: 'Diese Warteschlange ist geschlossen',
      closed_intro: 'Sie nimmt gerade niemanden neu auf (ausverkauft oder noch nicht geöffnet). Bitte versuchen Sie es später.',
    },
    element: {
      positionLabel: 'Ihr Platz',
      of: 'von',
      etaLabel: 'Geschätzte Wartezeit',
      etaNow: 'jeden Moment',
      etaUnderMinute: 'weniger als eine Minute',
      etaMinutes: 'etwa {n} Min.',
      etaHours: 'etwa {h} Std. {m} Min.',
      queueClosed: 'Diese Warteschlange nimmt niemanden neu auf (ausverkauft oder noch nicht geöffnet). Bitte versuchen Sie es später.',
      states: {
        connecting: 'Verbinde…',
        waiting: 'Sie sind in der Warteschlange. Lassen Sie diese Seite offen.',
        polling: 'Sie sind in der Warteschlange. Lassen Sie diese Seite offen.',
        reconnecting: 'Verbindung unterbrochen. Verbinde neu… Ihr Platz bleibt erhalten.',
        offline: 'Sie sind offline. Ihr Platz bleibt eine Weile erhalten.',
        replaced: 'Die Warteschlange ist in einem anderen Tab offen. Kehren Sie hierher zurück, um hier weiterzumachen.',
        admitted: 'Sie sind dran! Sie werden weitergeleitet…',
        expired: 'Ihr Platz ist verfallen.',
        closed: 'Sie haben die Warteschlange verlassen.',
        error: 'Etwas ist schiefgegangen. Bitte laden Sie die Seite neu.',
      },
    },
  },
  fr: {
    page: {
      title: 'Vous êtes dans la file',
      heading: 'Vous êtes dans la file',
      intro: 'Le site est très demandé. Vous serez redirigé dès que ce sera votre tour.',
      keep_open: 'Gardez cette page ouverte : elle garde votre place, même si vous la rechargez.',
      noscript: 'Cette salle d’attente a besoin de JavaScript pour garder votre place.',
      footer: 'Salle d’attente',
      closed_heading: 'Cette file est fermée',
      closed_intro: 'Elle n’accepte plus de visiteurs pour le moment (complet ou pas encore ouvert). Revenez plus tard.',
    },
    element: {
      positionLabel: 'Votre place',
      of: 'sur',
      etaLabel: 'Attente estimée',
      etaNow: 'd’un instant à l’autre',
      etaUnderMinute: 'moins d’une minute',
      etaMinutes: 'environ {n} min',
      etaHours: 'environ {h} h {m} min',
      queueClosed: 'Cette file n’accepte plus de visiteurs (complet ou pas encore ouvert). Revenez plus tard.',
      states: {
        connecting: 'Connexion…',
        waiting: 'Vous êtes dans la file. Gardez cette page ouverte.',
        polling: 'Vous êtes dans la file. Gardez cette page ouverte.',
        reconnecting: 'Connexion perdue. Reconnexion… votre place est gardée.',
        offline: 'Vous êtes hors ligne. Votre place est gardée un moment.',
        replaced: 'La file est ouverte dans un autre onglet. Revenez ici pour continuer ici.',
        admitted: 'C’est votre tour ! Redirection…',
        expired: 'Votre place a expiré.',
        closed: 'Vous avez quitté la file.',
        error: 'Une erreur est survenue. Veuillez recharger la page.',
      },
    },
  },
};

/** The best language for `?lang=` or an Accept-Language header, else English. */
export function pickLanguage(available: Record<string, PageLocale>, requested: string | null, acceptLanguage: string | undefined): string {
  if (requested && available[requested]) return requested;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.find((p) => p.trim().startsWith('q='));
      return { lang: tag.trim().toLowerCase().split('-')[0] ?? '', q: q ? Number(q.trim().slice(2)) : 1 };
    })
    .filter((x) => x.lang && Number.isFinite(x.q))
    .sort((a, b) => b.q - a.q);
  return ranked.find((x) => available[x.lang])?.lang ?? 'en';
}
