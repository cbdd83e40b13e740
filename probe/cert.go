package probe

import (
	"crypto/x509"
	"fmt"
	"time"
)

// certExpiry is the verdict on a leaf certificate's validity period at now:
// Down when it has expired or is not yet valid, Warn when it expires within
// warnDays days (never when warnDays < 0), else Up with no reason. It is a
// pure function of its inputs.
func certExpiry(notBefore, notAfter, now time.Time, warnDays int) (Status, string) {
	switch {
	case now.After(notAfter):
		return Down, expiredReason(notAfter)
	case now.Before(notBefore):
		return Down, "certificate not yet valid (from " + notBefore.UTC().Format(time.DateOnly) + ")"
	}
	left := notAfter.Sub(now)
	if warnDays < 0 || left > time.Duration(warnDays)*24*time.Hour {
		return Up, ""
	}
	return Warn, fmt.Sprintf("certificate expires in %s (%s)", daysLeft(left), notAfter.UTC().Format(time.DateOnly))
}

// expiredReason is the Reason of a certificate that expired at notAfter.
func expiredReason(notAfter time.Time) string {
	return "certificate expired (" + notAfter.UTC().Format(time.DateOnly) + ")"
}

// daysLeft prints whole days left ("4d"), or hours ("5h") or minutes
// ("12m") when less than a day is left.
func daysLeft(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
}

// certDetail describes a leaf certificate for Result.Detail.
func certDetail(c *x509.Certificate) string {
	return fmt.Sprintf("subject %q, issuer %q, valid %s to %s",
		c.Subject.String(), c.Issuer.String(),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}
