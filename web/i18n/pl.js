// pl: texts of the agent app (docs/languages.md). One JSON object: keep it valid JSON.
export default {
 "search.anyInbox": "Wszystkie moje skrzynki",
 "search.anyKind": "Wiadomości i notatki",
 "search.anyStatus": "Dowolny status",
 "search.count": {
  "one": "{count} wynik",
  "few": "{count} wyniki",
  "many": "{count} wyników",
  "other": "{count} wyniku"
 },
 "search.countMore": {
  "one": "Ponad {count} wynik",
  "few": "Ponad {count} wyniki",
  "many": "Ponad {count} wyników",
  "other": "Ponad {count} wyniku"
 },
 "search.from": "Od",
 "search.hint": "Wpisz słowo lub dwa z wiadomości. Wielkość liter i znaki diakrytyczne nie mają znaczenia, a ostatnie słowo może być niedokończone.",
 "search.inbox": "Skrzynka",
 "search.incoming": "Od klienta",
 "search.kind": "Rodzaj",
 "search.label": "Szukaj w wiadomościach i notatkach",
 "search.loading": "Szukam…",
 "search.messagesOnly": "Tylko wiadomości",
 "search.more": "Pokaż więcej wyników",
 "search.none": "Żadna wiadomość ani notatka nie pasuje do tych słów i filtrów.",
 "search.note": "Notatka",
 "search.notesOnly": "Tylko notatki",
 "search.outgoing": "Odpowiedź",
 "search.placeholder": "Słowa z wiadomości, np. zwrot zamówienie",
 "search.status": "Status",
 "search.submit": "Szukaj",
 "search.title": "Szukaj",
 "search.to": "Do",
 "status.open": "Otwarte",
 "status.pending": "Oczekujące",
 "status.resolved": "Rozwiązane",
 "status.snoozed": "Odłożone"
};
