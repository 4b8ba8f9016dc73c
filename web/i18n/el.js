// el: texts of the agent app (docs/languages.md). One JSON object: keep it valid JSON.
export default {
 "search.anyInbox": "Όλες οι θυρίδες μου",
 "search.anyKind": "Μηνύματα και σημειώσεις",
 "search.anyStatus": "Κάθε κατάσταση",
 "search.count": {
  "one": "{count} αποτέλεσμα",
  "other": "{count} αποτελέσματα"
 },
 "search.countMore": {
  "one": "Πάνω από {count} αποτέλεσμα",
  "other": "Πάνω από {count} αποτελέσματα"
 },
 "search.from": "Από",
 "search.hint": "Γράψτε μία ή δύο λέξεις από ένα μήνυμα. Κεφαλαία και τόνοι δεν έχουν σημασία, και η τελευταία λέξη μπορεί να είναι μισή.",
 "search.inbox": "Θυρίδα",
 "search.incoming": "Από τον πελάτη",
 "search.kind": "Είδος",
 "search.label": "Αναζήτηση σε μηνύματα και σημειώσεις",
 "search.loading": "Αναζήτηση…",
 "search.messagesOnly": "Μόνο μηνύματα",
 "search.more": "Περισσότερα αποτελέσματα",
 "search.none": "Κανένα μήνυμα ή σημείωση δεν ταιριάζει με αυτές τις λέξεις και τα φίλτρα.",
 "search.note": "Σημείωση",
 "search.notesOnly": "Μόνο σημειώσεις",
 "search.outgoing": "Απάντηση",
 "search.placeholder": "Λέξεις από ένα μήνυμα, π.χ. επιστροφή παραγγελία",
 "search.status": "Κατάσταση",
 "search.submit": "Αναζήτηση",
 "search.title": "Αναζήτηση",
 "search.to": "Έως",
 "status.open": "Ανοιχτή",
 "status.pending": "Σε αναμονή",
 "status.resolved": "Επιλυμένη",
 "status.snoozed": "Σε αναβολή"
};
