package phone

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, region, want string }{
		{"020 7946 0000", "GB", "+442079460000"},
		{"07911 123456", "GB", "+447911123456"}, // a Guernsey mobile, in GB form
		{"07400 123456", "GB", "+447400123456"},
		{"+44 (0)20 7946 0000", "US", "+442079460000"},
		{"0044 20 7946 0000", "GB", "+442079460000"},
		{"44 20 7946 0000", "GB", "+442079460000"},
		{"(415) 555-2671", "US", "+14155552671"},
		{"1-415-555-2671", "US", "+14155552671"},
		{"011 44 20 7946 0000", "US", "+442079460000"},
		{"06 12 34 56 78", "FR", "+33612345678"},
		{"+39 06 1234 5678", "GB", "+390612345678"}, // Italy keeps its leading 0
		{"030 123456", "DE", "+4930123456"},
		{"+49 30 123456", "", "+4930123456"},
	} {
		got, ok := Normalize(c.in, c.region)
		if !ok || got != c.want {
			t.Errorf("Normalize(%q, %s) = %q %v, want %q", c.in, c.region, got, ok, c.want)
		}
	}
	for _, c := range []struct{ in, region string }{
		{"12", "GB"}, {"07700 900123", "GB"}, // Ofcom's range for drama {"020 7946 000", "GB"}, {"phone me", "GB"}, {"+44 20 7946 0000 ext 12", "GB"},
		{"+999 123456", "GB"}, {"", "GB"}, {"020 7946 0000", ""}, {"+1 415 555 267", "US"},
	} {
		if got, ok := Normalize(c.in, c.region); ok {
			t.Errorf("Normalize(%q, %s) = %q, want refused", c.in, c.region, got)
		}
	}
	if !Supported("GB") || !Supported("us") || Supported("XX") {
		t.Error("Supported is wrong for GB, us or XX")
	}
}

// TestAgreesWithLibphonenumber holds the package to the library it was
// generated from: every region's example number of every type, written
// nationally and internationally, and variants one digit short or long.
func TestAgreesWithLibphonenumber(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	var regionsList []string
	for r := range phonenumbers.GetSupportedRegions() {
		regionsList = append(regionsList, r)
	}
	sort.Strings(regionsList)
	checked, disagree := 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	compare := func(in, region string) {
		checked++
		want := ""
		if n, err := phonenumbers.Parse(in, region); err == nil && phonenumbers.IsValidNumber(n) {
			want = phonenumbers.Format(n, phonenumbers.E164)
		}
		got, _ := Normalize(in, region)
		if got != want {
			disagree++
			if disagree <= 20 {
				t.Errorf("Normalize(%q, %s) = %q, libphonenumber says %q", in, region, got, want)
			}
		}
	}
	for _, region := range regionsList {
		for _, typ := range types {
			n := phonenumbers.GetExampleNumberForType(region, typ)
			if n == nil {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(n)
			compare(phonenumbers.Format(n, phonenumbers.NATIONAL), region)
			compare(phonenumbers.Format(n, phonenumbers.INTERNATIONAL), "GB")
			compare(fmt.Sprintf("+%d%s", n.GetCountryCode(), nsn[:len(nsn)-1]), region)
			compare(fmt.Sprintf("+%d%s5", n.GetCountryCode(), nsn), region)
			// The same number with other digits, in both forms, and in
			// another region's national form.
			for range 6 {
				b := []byte(nsn)
				for i := max(0, len(b)-4); i < len(b); i++ {
					b[i] = byte('0' + rng.IntN(10))
				}
				if len(b) > 3 && rng.IntN(3) == 0 {
					b[1] = byte('0' + rng.IntN(10))
				}
				compare("0"+string(b), region)
				compare(string(b), region)
				compare(fmt.Sprintf("+%d %s", n.GetCountryCode(), b), "US")
				compare(string(b), regionsList[rng.IntN(len(regionsList))])
			}
		}
	}
	t.Logf("%d numbers checked, %d disagreements", checked, disagree)
	if disagree > 0 {
		t.Errorf("%d of %d numbers disagree with libphonenumber", disagree, checked)
	}
}
